#!/usr/bin/env bash
# Validates docker/compose.production.yml and docker/compose.sharded.yml with Docker Compose v2's own
# parser (`compose config`): schema, interpolation, anchors/merges, depends_on targets, networks,
# volumes; then checks that both refuse to render without the required secrets. If the
# dockerfile-check tool is built, also runs BuildKit's Dockerfile checks on docker/Dockerfile.
# It needs no Docker engine, starts nothing and contacts no registry.
#
#   bash docker/validate.sh                  validate with whichever Compose v2 is found
#   bash docker/validate.sh --install        first build Compose v2 and dockerfile-check from
#                                            source (Go module proxy), then validate
#   bash docker/validate.sh --env-file FILE  validate with FILE instead of docker/.env.example
#
# Validators, in order: `docker compose` (the CLI plugin), the binary built by --install
# ($CHATPLAT_CACHE_DIR/bin/docker-compose, default ~/.cache/chatplat/bin/docker-compose), a
# `docker-compose` on PATH that is v2. Compose v1 (Debian's docker-compose 1.29) is not used: it
# predates the Compose Specification (it rejects the top-level `name:`).
# With no validator it says so and exits 0, so CI on a machine without one is not broken.
#
# --install: `go install github.com/docker/compose/v2/cmd@VERSION` does not work behind a module proxy
# that answers 403 on @v/list, so the module is fetched into a throwaway module with `go get`, then
# built with `go build`. Needs Go >= 1.24 and the Go module proxy; takes a few minutes the first time.
# The binary is also linked as a Docker CLI plugin (~/.docker/cli-plugins/docker-compose) when no
# `docker compose` exists, so that `docker compose ... config` works too.
# dockerfile-check (docker/tools/dockerfile-check) is built the same way against BuildKit.
# shellcheck disable=SC2030,SC2031  # the Go variables are meant to stay inside the install subshells
set -euo pipefail

COMPOSE_VERSION="${COMPOSE_VERSION:-v2.40.3}"
CACHE_DIR="${CHATPLAT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chatplat}"
BUILDKIT_VERSION="${BUILDKIT_VERSION:-v0.25.1}"
BUILT_BIN="$CACHE_DIR/bin/docker-compose"
DFCHECK_BIN="$CACHE_DIR/bin/dockerfile-check-$BUILDKIT_VERSION"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FILES=(compose.production.yml compose.sharded.yml)
ENV_FILE="$HERE/.env.example"
INSTALL=0

say() { echo "[compose-validate] $*"; }
indent() { while IFS= read -r line; do echo "    $line"; done <<<"$1"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --install) INSTALL=1 ;;
    --env-file) ENV_FILE="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift ;;
    -h|--help) sed -n '2,/^# shellcheck/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

install_compose() (
  if [ -x "$BUILT_BIN" ] && "$BUILT_BIN" version 2>/dev/null | grep "version $COMPOSE_VERSION\$" >/dev/null; then
    say "Compose $COMPOSE_VERSION already built: $BUILT_BIN"
    return 0
  fi
  command -v go >/dev/null || { say "Go is needed to build Compose $COMPOSE_VERSION (not found)"; return 1; }
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  export GOFLAGS="-mod=mod" GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
  say "1/2 fetching github.com/docker/compose/v2@$COMPOSE_VERSION through the Go module proxy"
  (cd "$work" && go mod init compose-build >/dev/null 2>&1 && go get "github.com/docker/compose/v2@$COMPOSE_VERSION")
  say "2/2 building (a few minutes the first time)"
  mkdir -p "$(dirname "$BUILT_BIN")"
  (cd "$work" && go build -trimpath \
    -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
    -o "$BUILT_BIN.tmp" github.com/docker/compose/v2/cmd)
  mv "$BUILT_BIN.tmp" "$BUILT_BIN"
  say "built $("$BUILT_BIN" version) -> $BUILT_BIN"
  if command -v docker >/dev/null && ! docker compose version >/dev/null 2>&1; then
    plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
    mkdir -p "$plugins"
    ln -sf "$BUILT_BIN" "$plugins/docker-compose"
    say "linked as Docker CLI plugin: $plugins/docker-compose ($(docker compose version 2>&1 || true))"
  fi
)

install_dockerfile_check() (
  if [ -x "$DFCHECK_BIN" ]; then
    say "dockerfile-check (BuildKit $BUILDKIT_VERSION) already built: $DFCHECK_BIN"
    return 0
  fi
  command -v go >/dev/null || { say "Go is needed to build dockerfile-check (not found)"; return 1; }
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  export GOFLAGS="-mod=mod" GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
  say "building dockerfile-check against github.com/moby/buildkit@$BUILDKIT_VERSION"
  cp "$HERE/tools/dockerfile-check/main.go" "$work/"
  (cd "$work" && go mod init dockerfile-check >/dev/null 2>&1 \
    && go get "github.com/moby/buildkit@$BUILDKIT_VERSION" \
    && go build -trimpath -ldflags "-s -w" -o "$DFCHECK_BIN.tmp" .)
  mv "$DFCHECK_BIN.tmp" "$DFCHECK_BIN"
  say "built $DFCHECK_BIN"
)

# Prints the validator command (words separated by spaces) or nothing.
find_validator() {
  if command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then
    echo "docker compose"
  elif [ -x "$BUILT_BIN" ] && "$BUILT_BIN" version >/dev/null 2>&1; then
    echo "$BUILT_BIN"
  elif command -v docker-compose >/dev/null && docker-compose version 2>/dev/null | grep -iE 'version v?2\.' >/dev/null; then
    echo "docker-compose"
  fi
}

if [ "$INSTALL" = 1 ]; then
  install_compose
  install_dockerfile_check
fi

status=0
if [ -x "$DFCHECK_BIN" ]; then
  if out="$("$DFCHECK_BIN" "$HERE/Dockerfile" 2>&1)"; then
    say "OK    Dockerfile: BuildKit $BUILDKIT_VERSION checks: no errors, no warnings"
  else
    say "FAIL  Dockerfile (BuildKit $BUILDKIT_VERSION checks):"
    indent "$out"
    status=1
  fi
else
  say "SKIP  Dockerfile: dockerfile-check not built (bash docker/validate.sh --install)"
fi

read -r -a COMPOSE <<<"$(find_validator)"
if [ ${#COMPOSE[@]} -eq 0 ]; then
  say "no Compose v2 validator installed: docker/compose.*.yml NOT validated."
  if command -v docker-compose >/dev/null; then
    say "(found $(docker-compose version --short 2>/dev/null || echo 'docker-compose v1'): Compose v1 does not implement the Compose Specification)"
  fi
  say "install one with: bash docker/validate.sh --install   (needs Go and the Go module proxy)"
  exit "$status"
fi
say "validator: ${COMPOSE[*]} ($("${COMPOSE[@]}" version 2>&1 | head -n1))"
say "variables from: $ENV_FILE"

# A clean environment, so that variables exported in the caller's shell do not hide a missing one.
run_compose() {
  env -i PATH="$PATH" HOME="$HOME" ${DOCKER_CONFIG:+DOCKER_CONFIG="$DOCKER_CONFIG"} "${COMPOSE[@]}" "$@"
}

empty_env="$(mktemp)"
trap 'rm -f "$empty_env"' EXIT
for f in "${FILES[@]}"; do
  path="$HERE/$f"
  if out="$(run_compose -f "$path" --env-file "$ENV_FILE" config --quiet 2>&1)"; then
    services="$(run_compose -f "$path" --env-file "$ENV_FILE" config --services 2>/dev/null | sort | tr "\n" " " | sed "s/ $//")"
    say "OK    $f: $(wc -w <<<"$services") services: $services"
  else
    say "FAIL  $f:"
    indent "$out"
    status=1
    continue
  fi
  # Secrets are required: without any variable the file must be refused, naming a secret.
  if out="$(run_compose -f "$path" --env-file "$empty_env" config --quiet 2>&1)"; then
    say "FAIL  $f: accepted with no variables set (a secret is not required)"
    status=1
  elif grep -q "required variable" <<<"$out"; then
    say "OK    $f: refused without secrets ($(grep -o 'required variable [A-Z0-9_]* is missing a value' <<<"$out" | head -n1))"
  else
    say "FAIL  $f: refused without variables, but not for a missing secret:"
    indent "$out"
    status=1
  fi
done

if [ "$status" = 0 ]; then
  say "all checks passed"
else
  say "validation FAILED"
fi
exit "$status"
