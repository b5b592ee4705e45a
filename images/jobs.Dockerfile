# The jobs image: collect, curate, train and evaluate (`distillery-job PHASE`). CUDA for training.
# Build from the repository root:
#   docker build -f images/jobs.Dockerfile -t ghcr.io/distillery/jobs:0.1.0 .
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH

RUN apt-get update && apt-get install -y --no-install-recommends python3.12 python3.12-venv \
    && rm -rf /var/lib/apt/lists/* && python3.12 -m venv /opt/venv

WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY jobs ./jobs
COPY operator ./operator
# The CUDA build of the pinned torch first, then the jobs, train and cuda (bitsandbytes, QLoRA) extras.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128
RUN pip install -c constraints.txt '.[jobs,train,cuda]' && rm -rf /src

# The operator runs every Job's pod as 1000 with a read-only root filesystem; HOME, TMPDIR and the
# caches point at the pod's /scratch emptyDir (operator/distillery_operator/builders.py).
RUN useradd --uid 1000 --no-create-home --shell /usr/sbin/nologin distillery
USER 1000
WORKDIR /
ENTRYPOINT ["distillery-job"]
