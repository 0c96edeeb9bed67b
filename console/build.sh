#!/usr/bin/env bash
# Rebuild api/static/vendor/ from the pinned npm packages in package-lock.json.
#
#   bash console/build.sh          # writes api/static/vendor/dagre.js and its license
#   bash console/build.sh --check  # exits 1 if the committed files differ from a rebuild
#
# Needs node and npm (any recent LTS); nothing else. The console's own code
# (api/static/*.js, *.css) has no build step: it is served as written.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../api/static/vendor"
check=0
[[ "${1:-}" == "--check" ]] && check=1

cd "$here"
npm ci --no-audit --no-fund --ignore-scripts >/dev/null

pkg="node_modules/@dagrejs/dagre"
lib="node_modules/@dagrejs/graphlib"
version="$(node -p "require('./$pkg/package.json').version")"
graphlib_version="$(node -p "require('./$lib/package.json').version")"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

# dagre's ES module build is already one self-contained file (graphlib is bundled in by
# upstream's esbuild); we add a header naming what it is and drop the source map
# comment, since the map is not shipped and the page must make no request we do not serve.
{
  printf '/*! @dagrejs/dagre %s (bundles @dagrejs/graphlib %s), MIT License.\n' \
    "$version" "$graphlib_version"
  printf ' * Vendored by console/build.sh from the npm registry; see dagre.LICENSE.txt. */\n'
  grep -v '^//# sourceMappingURL=' "$pkg/dist/dagre.esm.js"
} >"$stage/dagre.js"

{
  printf '@dagrejs/dagre %s\n\n' "$version"
  cat "$pkg/LICENSE"
  printf '\n\n@dagrejs/graphlib %s (bundled inside dagre.js)\n\n' "$graphlib_version"
  cat "$lib/LICENSE"
} >"$stage/dagre.LICENSE.txt"

if ((check)); then
  status=0
  for f in dagre.js dagre.LICENSE.txt; do
    if ! cmp -s "$stage/$f" "$out/$f"; then
      echo "api/static/vendor/$f is out of date: run bash console/build.sh" >&2
      status=1
    fi
  done
  exit "$status"
fi

mkdir -p "$out"
cp "$stage/dagre.js" "$stage/dagre.LICENSE.txt" "$out/"
echo "wrote $out/dagre.js (@dagrejs/dagre $version) and dagre.LICENSE.txt"
