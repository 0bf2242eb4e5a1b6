"""Benchmarks of Factory IoT (issue 8): latency, throughput and fan-out on a real system."""
