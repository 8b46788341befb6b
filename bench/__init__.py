"""Benchmarks: the load generator, the bare relays and `python -m bench.run` (see README.md)."""
