#!/usr/bin/env bash
# The .vsix for one VS Code target, from a clean checkout: the extension's JavaScript, then
# bundled/ (SHIM's server and its dependencies for CPython 3.11-3.13, wheels from the package
# registry), then `vsce package --target`.
#   bundle/package.sh [TARGET] [OUT]   TARGET: linux-x64 (default), linux-arm64, darwin-x64,
#                                      darwin-arm64, win32-x64; OUT: shim.vsix (default)
#   bundle/package.sh all              every target, each to shim-TARGET.vsix
# Any Python 3.11+ with pip builds the bundle: $SHIM_BUILD_PYTHON, else python3.
# SHIM_VSIX_NO_SECRET_SCAN=1 skips vsce's secret scan: on the bundle's ~2,700 files (pinned
# wheels from the registry) it takes ~35 s of CPU; the test suite sets it, a release build does not.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-linux-x64}
out=${2:-shim.vsix}
python=${SHIM_BUILD_PYTHON:-python3}
if [ "$target" = all ]; then
  for each in $("$python" bundle/build.py --list-targets); do
    bash bundle/package.sh "$each" "shim-$each.vsix"
  done
  exit
fi
node esbuild.mjs --production
"$python" bundle/build.py --target "$target"
scan=()
[ "${SHIM_VSIX_NO_SECRET_SCAN:-}" = 1 ] && scan=(--allow-package-all-secrets --allow-package-env-file)
npx vsce package --target "$target" --no-dependencies --allow-missing-repository ${scan[@]+"${scan[@]}"} --out "$out"
