"""Shared fixtures live in tests/fixtures/ (one module per server or model) and load from here."""

pytest_plugins = [
    "tests.fixtures.s3",
    "tests.fixtures.anthropic",
    "tests.fixtures.models",
    "tests.fixtures.cluster",
    "tests.fixtures.operator",
    "tests.fixtures.prometheus",
    "tests.fixtures.helm",
    "tests.fixtures.vllm",
]
