# The jobs image: collect, curate, train and evaluate (`distillery-job PHASE`). CUDA for training.
# Build from the repository root: docker build -f images/jobs.Dockerfile -t distillery-jobs .
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HOME=/cache/huggingface VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH

RUN apt-get update && apt-get install -y --no-install-recommends python3.11 python3.11-venv \
    && rm -rf /var/lib/apt/lists/* && python3.11 -m venv /opt/venv

WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY jobs ./jobs
COPY operator ./operator
# The CUDA build of the pinned torch first, then the jobs and train extras (+ bitsandbytes for QLoRA).
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128 \
    && pip install -c constraints.txt '.[jobs,train]' bitsandbytes

RUN useradd --uid 10001 --create-home distillery && mkdir -p /cache && chown 10001 /cache
USER 10001
ENTRYPOINT ["distillery-job"]
