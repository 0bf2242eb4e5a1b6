"""One-off experiments behind docs/benchmarks.md's findings (not part of ``make bench``)."""
