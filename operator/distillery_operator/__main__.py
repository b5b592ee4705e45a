"""`distillery-operator` (or `python -m distillery_operator`): run the operator with its settings.

Watches the namespaces in DISTILLERY_NAMESPACES (comma-separated; every namespace when unset),
serves /healthz on DISTILLERY_LIVENESS_PORT and /metrics on DISTILLERY_METRICS_PORT.
"""

from __future__ import annotations

import sys

import kopf

from distillery_operator.settings import OperatorSettings, SettingsError


def main() -> int:
    try:
        settings = OperatorSettings.from_env()
    except SettingsError as exc:
        print(f"distillery-operator: {exc}", file=sys.stderr)
        return 2
    import distillery_operator.main  # noqa: F401  (registers the handlers)

    kopf.configure(log_format=kopf.LogFormat.PLAIN)  # INFO: phases, peering, retries

    kopf.run(
        clusterwide=not settings.namespaces,
        namespaces=list(settings.namespaces),
        standalone=settings.standalone,
        peering_name=None if settings.standalone else settings.peering,
        liveness_endpoint=settings.liveness_endpoint,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
