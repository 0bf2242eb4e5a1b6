"""Developer tooling shared by tests, the demo and the benchmarks (not shipped in the wheel)."""
