"""Benchmarks: `make bench` (results in bench/results/)."""
