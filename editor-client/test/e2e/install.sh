#!/usr/bin/env bash
# What the end-to-end tests in real VS Code need, from the package registries only:
# Debian's Chromium and ripgrep, and code-server 4.100.3 + playwright-core from npm.
# The facts behind each step: README.md beside this file.
set -euo pipefail
cd "$(dirname "$0")"

need=()
for pkg in chromium ripgrep pkg-config libkrb5-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -x node_modules/.bin/code-server ]; then
  # @vscode/ripgrep would download rg from GitHub; it finds Debian's in its cache instead.
  case "$(uname -m)" in
    x86_64) target=x86_64-unknown-linux-musl ;;
    aarch64) target=aarch64-unknown-linux-musl ;;
    *) echo "no ripgrep mapping for $(uname -m)" >&2; exit 1 ;;
  esac
  cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
  staging=$(mktemp -d)
  cp "$(command -v rg)" "$staging/rg"
  mkdir -p "$cache"
  tar -czf "$cache/ripgrep-v13.0.0-10-$target.tar.gz" -C "$staging" rg
  rm -rf "$staging"
  # As root: code-server's postinstall wants unsafe-perm, node-pty's npx wants a yes.
  npm_config_unsafe_perm=true npm_config_yes=true npm ci --no-audit --no-fund
fi
