"""Command-line entry points: `distillery` (users) and `distillery-job` (Kubernetes Jobs)."""
