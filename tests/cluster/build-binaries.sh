#!/usr/bin/env bash
# Builds the test cluster's binaries once into a cache outside the repository:
#   kube-apiserver + kube-controller-manager v1.20.2 from Debian's own `kubernetes` source package,
#   etcd (Debian etcd-server), kubectl (Debian kubernetes-client), prometheus + promtool (Debian).
# Reused when present. Nothing is installed into the system: the apt lists, the downloaded .debs and
# the Go toolchain live in a private directory beside the cache.
# Usage: tests/cluster/build-binaries.sh  -> prints the bin directory (KUBEBUILDER_ASSETS layout).
set -euo pipefail

CACHE="${DISTILLERY_KUBE_CACHE:-$HOME/.cache/distillery/kube-1.20.2}"
BIN="$CACHE/bin"
WANT=(kube-apiserver kube-controller-manager etcd kubectl prometheus promtool)

have_all() { for b in "${WANT[@]}"; do [ -x "$BIN/$b" ] || return 1; done; }
if have_all; then echo "$BIN"; exit 0; fi

log() { echo "[cluster-binaries] $*" >&2; }
WORK="$CACHE/work"
mkdir -p "$BIN" "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial" "$WORK/apt/sources" \
  "$WORK/debs" "$WORK/root"

# A private apt configuration: the system's Debian sources, with deb-src added.
SYS_SOURCES=/etc/apt/sources.list.d/debian.sources
if [ ! -f "$SYS_SOURCES" ]; then log "no $SYS_SOURCES: cannot find the Debian mirror"; exit 1; fi
sed 's/^Types: deb$/Types: deb deb-src/' "$SYS_SOURCES" > "$WORK/apt/sources/debian.sources"
APT=(apt-get -q -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$WORK/apt/sources"
     -o "Dir::State::Lists=$WORK/apt/lists" -o "Dir::Cache=$WORK/apt/cache"
     -o "APT::Sandbox::User=root")
if [ ! -f "$WORK/apt/.updated" ]; then
  log "apt update (private lists)"
  "${APT[@]}" update >&2
  touch "$WORK/apt/.updated"
fi

fetch_debs() {  # package names -> .debs in $WORK/debs, unpacked into $WORK/root
  (cd "$WORK/debs" && "${APT[@]}" download "$@" >&2)
  for p in "$@"; do
    for f in "$WORK/debs/${p}"_*.deb; do dpkg -x "$f" "$WORK/root"; done
  done
}

if [ ! -x "$BIN/etcd" ] || [ ! -x "$BIN/kubectl" ] || [ ! -x "$BIN/prometheus" ]; then
  log "downloading etcd-server, kubernetes-client, prometheus"
  fetch_debs etcd-server kubernetes-client prometheus
  cp "$WORK/root/usr/bin/etcd" "$BIN/etcd"
  cp "$WORK/root/usr/bin/kubectl" "$BIN/kubectl"
  cp "$WORK/root/usr/bin/prometheus" "$BIN/prometheus"
  cp "$WORK/root/usr/bin/promtool" "$BIN/promtool"
fi

if [ ! -x "$BIN/kube-apiserver" ] || [ ! -x "$BIN/kube-controller-manager" ]; then
  log "downloading the Go 1.19 toolchain and reflect2 1.0.2"
  fetch_debs golang-1.19-go golang-1.19-src golang-github-modern-go-reflect2-dev
  if ! command -v rsync >/dev/null; then  # kubernetes' build scripts need rsync
    fetch_debs rsync libpopt0 libxxhash0
    export PATH="$WORK/root/usr/bin:$PATH" LD_LIBRARY_PATH="$WORK/root/usr/lib/x86_64-linux-gnu"
  fi
  SRC="$WORK/src"
  if [ ! -d "$SRC/kubernetes" ]; then
    log "downloading the kubernetes source package"
    mkdir -p "$SRC/dl"
    (cd "$SRC/dl" && "${APT[@]}" source --download-only kubernetes >&2)
    dsc=$(ls "$SRC/dl"/kubernetes_*.dsc | head -1)
    dpkg-source --no-check -x "$dsc" "$SRC/kubernetes.tmp" >&2
    mv "$SRC/kubernetes.tmp" "$SRC/kubernetes"
  fi
  rm -rf "$SRC/kubernetes/_output"
  # The vendored reflect2 v1.0.1 breaks on Go >= 1.18; Debian's 1.0.2 sources work.
  R2="$SRC/kubernetes/vendor/github.com/modern-go/reflect2"
  rm -rf "$R2" && mkdir -p "$R2"
  cp -r "$WORK/root/usr/share/gocode/src/github.com/modern-go/reflect2/." "$R2/"
  export GOROOT="$WORK/root/usr/lib/go-1.19"
  export PATH="$GOROOT/bin:$PATH" GOFLAGS=-mod=vendor CGO_ENABLED=0 GOPROXY=off
  export GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" KUBE_VERBOSE=0
  log "building kube-apiserver and kube-controller-manager (about 6 minutes on 2 cores)"
  (cd "$SRC/kubernetes" && make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >&2)
  out="$SRC/kubernetes/_output/local/bin/linux/amd64"
  [ -d "$out" ] || out=$(dirname "$(find "$SRC/kubernetes/_output" -name kube-apiserver -type f | head -1)")
  cp "$out/kube-apiserver" "$out/kube-controller-manager" "$BIN/"
  # Keep the cache small: the toolchain, sources and build cache are not needed any more.
  rm -rf "$SRC" "$WORK/gocache" "$WORK/gopath"
fi

have_all || { log "missing binaries in $BIN"; exit 1; }
echo "$BIN"
