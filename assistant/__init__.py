"""A terminal troubleshooting assistant for local network connections."""

__version__ = "0.1.0"
