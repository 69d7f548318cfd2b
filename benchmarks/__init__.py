"""Benchmarks: speed, memory and full-scale quality (``make bench``); not tests."""
