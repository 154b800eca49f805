#!/usr/bin/env bash
# Installs what the test suites need on a clean Debian 12 machine: python3 (sandbox tests), and for the
# end-to-end suite a real VS Code (code-server, from npm) and Debian's Chromium for Playwright to drive.
# Idempotent: a second run finds everything in place and returns in about a second.
#
# code-server lives in a folder of its own, not in the project's node_modules:
#   $CRUCIBLE_E2E_HOME (default ~/.cache/crucible-e2e)/code-server-<version>/node_modules/code-server
# scripts/e2eEnv.mjs and test/e2e read the same location. Everything there is rebuilt by this script.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3       # VS Code 1.100.3 on Node 20; newer releases need Node 22 or later
RIPGREP_PKG_VERSION=1.15.11       # the @vscode/ripgrep that code-server 4.100.3's VS Code pins
RIPGREP_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
E2E_HOME="${CRUCIBLE_E2E_HOME:-$HOME/.cache/crucible-e2e}"
CS_DIR="$E2E_HOME/code-server-$CODE_SERVER_VERSION"
log() { printf '[setup] %s\n' "$*"; }
start=$(date +%s)

# 1. Debian packages. Native modules of code-server build against these headers; ripgrep seeds
#    @vscode/ripgrep (whose own postinstall would download it); chromium is the browser Playwright drives.
debs=(python3 make g++ pkg-config libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev ripgrep chromium bubblewrap)
missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
# python3 may come from elsewhere (pyenv); only ask Debian for it when there is none at all.
if command -v python3 >/dev/null; then
  filtered=()
  for pkg in "${missing[@]+"${missing[@]}"}"; do [ "$pkg" = python3 ] || filtered+=("$pkg"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. code-server from npm, in its own folder.
marker="$CS_DIR/.installed"
if [ -f "$marker" ] && [ -x "$CS_DIR/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ]; then
  log "code-server $CODE_SERVER_VERSION already installed in $CS_DIR"
else
  log "installing code-server $CODE_SERVER_VERSION into $CS_DIR (a few minutes: native modules build)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  # @vscode/ripgrep's postinstall looks in $TMPDIR/vscode-ripgrep-cache-<version>/ before downloading.
  rg_cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$RIPGREP_PKG_VERSION"
  mkdir -p "$rg_cache"
  if [ ! -s "$rg_cache/$RIPGREP_ASSET" ]; then
    tar -czf "$rg_cache/$RIPGREP_ASSET.tmp" -C "$(dirname "$(command -v rg)")" rg
    mv "$rg_cache/$RIPGREP_ASSET.tmp" "$rg_cache/$RIPGREP_ASSET"
  fi
  printf '{"name":"crucible-e2e-code-server","private":true}\n' > "$CS_DIR/package.json"
  (
    cd "$CS_DIR"
    npm_config_yes=true npm_config_unsafe_perm=true npm install --no-fund --no-audit --no-save \
      --loglevel=error "code-server@$CODE_SERVER_VERSION" > "$CS_DIR/install.log" 2>&1
  ) || { tail -n 60 "$CS_DIR/install.log"; log "code-server install failed; full log: $CS_DIR/install.log"; exit 1; }
  "$CS_DIR/node_modules/.bin/code-server" --version > /dev/null
  date -u +%FT%TZ > "$marker"
fi

log "ready in $(( $(date +%s) - start ))s: $("$CS_DIR/node_modules/.bin/code-server" --version 2>/dev/null | head -n 1), $(chromium --version 2>/dev/null)"
