"""Renderers: Report in, string out. They never gather facts or print."""
