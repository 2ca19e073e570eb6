#!/usr/bin/env bash
# Builds dist/mcp-server-siliconflow-image-<version>.mcpb (or <out-dir>/... with an argument) with the official
# MCPB CLI, pinned and installed from npm into .cache/ on first use.
#
# The bundle is manifest 0.4, server type "uv": it carries the package's own pyproject.toml and sources, and the
# host's uv installs the dependencies for the user's platform at first start (see manifest.json).
#
#   bash manifests/mcpb/build.sh [out-dir]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out_dir=$(mkdir -p "${1:-$root/dist}" && cd "${1:-$root/dist}" && pwd)
mcpb_package="@anthropic-ai/mcpb@2.1.2"
mcpb="$root/.cache/node/node_modules/.bin/mcpb"

version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$root/server/mcp_server_siliconflow_image/__init__.py")
manifest_version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$root/manifests/mcpb/manifest.json")
if [ -z "$version" ] || [ "$version" != "$manifest_version" ]; then
  echo "build.sh: manifests/mcpb/manifest.json says version '$manifest_version', the package '$version'" >&2
  exit 1
fi

if [ ! -x "$mcpb" ] || ! "$mcpb" --version 2>/dev/null | grep -qx "${mcpb_package##*@}"; then
  command -v npm >/dev/null || { echo "build.sh: npm (Node.js) is needed to install $mcpb_package" >&2; exit 1; }
  npm install --prefix "$root/.cache/node" --no-audit --no-fund --silent "$mcpb_package" >&2
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$root/manifests/mcpb/manifest.json" "$root/manifests/mcpb/icon.png" "$root/manifests/mcpb/.mcpbignore" "$stage/"
cp "$root/pyproject.toml" "$root/README.md" "$root/LICENSE" "$stage/"
mkdir "$stage/server"
cp -R "$root/server/mcp_server_siliconflow_image" "$stage/server/"

"$mcpb" validate "$stage/manifest.json" >&2
bundle="$out_dir/mcp-server-siliconflow-image-$version.mcpb"
"$mcpb" pack "$stage" "$bundle" >&2
echo "$bundle"
