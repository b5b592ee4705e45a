#!/bin/sh
# Installs Debian's chromium for tests/browser (the report rendered in a real headless browser).
# Idempotent: does nothing when `chromium` is already on PATH. Needs root (apt-get) otherwise.
set -eu
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-chromium.sh: chromium is missing; run as root (apt-get install -y chromium)" >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null
