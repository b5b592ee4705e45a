# The operator image: `distillery-operator` (kopf), the core package and the `operator` extra only
# (no training stack, no teacher SDKs). Build from the repository root:
#   docker build -f images/operator.Dockerfile -t ghcr.io/distillery/operator:0.1.0 .
FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY jobs ./jobs
COPY operator ./operator
RUN pip install -c constraints.txt '.[operator]' && rm -rf /src

# The chart runs it as 1000 with a read-only root filesystem (values podSecurityContext).
RUN useradd --uid 1000 --no-create-home --shell /usr/sbin/nologin distillery
USER 1000
WORKDIR /
EXPOSE 8080 8081
ENTRYPOINT ["distillery-operator"]
