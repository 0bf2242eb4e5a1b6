"""Build-time helpers for setuptools (not installed)."""
