"""Distillery: distill a large LLM into a small open-weights model, measured."""

__version__ = "0.1.0"
