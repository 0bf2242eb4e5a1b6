# ruff: noqa: N999 - named after the real package
"""A fake ``RPi`` package for tests: put tests/fakes on sys.path (or PYTHONPATH)."""
