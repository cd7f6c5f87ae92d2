"""Benchmarks: `python -m lmc.bench [SUITE] [options]`. Each suite module exposes `main(argv)`."""
