"""The Distillery operator: runs DistillationRuns as Kubernetes Jobs (kopf).

`main.py` holds the kopf handlers only; each delegates to a module named for what it does:
`reconcile` (one level-triggered pass), `builders` (pure object builders), `observe` (Jobs and
Pods -> phase outcomes), `attempts` (new attempts, history, schedule), `kube` (API calls),
`metrics`, `rbac` (the permissions it needs, as data) and `settings`.
"""
