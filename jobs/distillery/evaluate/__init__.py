"""The evaluate phase: base vs student vs teacher on held-out examples, metrics, gates and a report."""
