"""The per-record paths as they were before issue 12: the baselines benchmarks and parity tests run."""
