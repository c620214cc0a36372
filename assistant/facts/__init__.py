"""Fact collectors: the only package that talks to psutil and the system.

See `catalogue.py` for the fact types rules may match, and `registry.py`
for the collector interface.
"""
