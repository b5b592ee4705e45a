"""`kubectl distill`: a kubectl plugin (console script `kubectl-distill`) for DistillationRuns."""
