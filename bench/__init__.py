"""Benchmarks: `make bench` (`python -m bench.run`) prints Markdown tables."""

import nt_complex  # noqa: F401  (first: the bench modules import neural_tangents, which needs it)
