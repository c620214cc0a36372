"""Rule files: load, validate, compile, run. Only runtime.py imports durable."""
