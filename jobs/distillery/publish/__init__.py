"""The publish phase: a model registry on the artifact store, champion/challenger promotion,
model cards and serving descriptors. `distillery-job publish` runs `job.run`; `distillery promote`
moves the champion pointer (registry.Registry.set_champion)."""
