"""Test support that is not a fixture: processes, proxies and fault scenarios shared by tests and benchmarks."""
