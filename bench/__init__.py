"""Benchmarks: `make bench` (`python -m bench.run`) prints Markdown tables."""
