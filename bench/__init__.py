"""Benchmark scripts that print figures (see bench/README.md); no timing assertions live in tests."""
