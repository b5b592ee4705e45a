"""Fakes for tests and the offline demo: a fake Anthropic API server and scripted teachers."""
