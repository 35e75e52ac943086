#!/usr/bin/env bash
# Swagger UI for the gateway's /docs page (chalicelib/api/docs.py), from the npm package swagger-ui-dist, into
# vendor/swagger_ui/. Chalice ships vendor/'s contents at the root of the deployment package, so the page needs no
# CDN at run time. Pinned: a new version is a reviewed change of this line.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version="5.36.0"
pkg="swagger-ui-dist@$version"
target="$root/vendor/swagger_ui"
if [ "$(cat "$target/VERSION" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is needed to fetch Swagger UI ($pkg)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "netweave: fetching $pkg for /docs ..."
(cd "$work" && npm pack --silent "$pkg" >/dev/null \
  && tar xzf ./*.tgz package/swagger-ui-bundle.js package/swagger-ui.css package/LICENSE)
rm -rf "$target" && mkdir -p "$target"
cp "$work/package/swagger-ui-bundle.js" "$work/package/swagger-ui.css" "$work/package/LICENSE" "$target/"
echo "$version" > "$target/VERSION"
