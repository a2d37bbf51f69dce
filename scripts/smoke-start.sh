#!/usr/bin/env bash
# Smoke test of the one-command start: runs the built all-in-one server on its embedded defaults in a
# temporary DATA_DIR, checks /health/ready, writes data through the admin API, stops it (SIGTERM),
# starts it again and checks the data is still there; then kills it hard (SIGKILL) and checks a third
# start recovers (it reuses or restarts the embedded FerretDB). Last, each app alone (api, gateway,
# admin) starts from the built output on the same DATA_DIR and answers /health. Needs `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR="$(mktemp -d)"
PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
URL="http://127.0.0.1:$PORT"
LOG="$DATA_DIR/server.log"
export DATA_DIR PORT HOST=127.0.0.1 LOG_LEVEL=warn
export ADMIN_BOOTSTRAP_EMAIL=smoke@localhost ADMIN_BOOTSTRAP_PASSWORD=smoke-password-123
unset MONGODB_URI S3_ENDPOINT
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  if [ -f "$DATA_DIR/ferretdb/ferretdb.json" ]; then
    kill "$(node -e 'console.log(require(process.argv[1]).pid)' "$DATA_DIR/ferretdb/ferretdb.json")" 2>/dev/null || true
  fi
  # FerretDB on PostgreSQL: drop the database this throwaway DATA_DIR got.
  node -e 'require("./dist/libs/dev-services/src").dropFerretDbDataOf(process.argv[1]).catch((e) => console.error(e.message))' "$DATA_DIR/ferretdb" || true
  rm -rf "$DATA_DIR"
}
trap cleanup EXIT

start() {
  node "${1:-dist/apps/all-in-one/src/main.js}" >>"$LOG" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    if curl -fsS "$URL/health/ready" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "server exited:"; tail -50 "$LOG"; exit 1; }
    sleep 0.5
  done
  echo "server not ready after 60s:"; tail -50 "$LOG"; exit 1
}
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=process.argv[1].split(".").reduce((o,k)=>o?.[k],JSON.parse(s));console.log(v??"")})' "$1"; }

start
echo "ready: $(curl -fsS "$URL/health/ready")"
# The browser apps are served from the build, with their CSP.
for page in app console; do
  curl -fsS -D - "$URL/$page" | grep -i '^content-security-policy:' >/dev/null || { echo "/$page: not served with a CSP"; exit 1; }
done
echo "web apps served at $URL/app and $URL/console"
token=""
if curl -fsS -o /dev/null "$URL/docs/openapi.json" && curl -fsS "$URL/docs/openapi.json" | grep '/admin/auth/login' >/dev/null; then
  token="$(curl -fsS -X POST "$URL/admin/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$ADMIN_BOOTSTRAP_EMAIL\",\"password\":\"$ADMIN_BOOTSTRAP_PASSWORD\"}" | json token)"
  curl -fsS -X POST "$URL/admin/tenants" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"name":"Smoke Test Tenant"}' >/dev/null
  echo "created a tenant"
fi

kill -TERM "$pid"; wait "$pid" || true; pid=""
echo "stopped (SIGTERM); starting again"
start
if [ -n "$token" ]; then
  token="$(curl -fsS -X POST "$URL/admin/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$ADMIN_BOOTSTRAP_EMAIL\",\"password\":\"$ADMIN_BOOTSTRAP_PASSWORD\"}" | json token)"
  curl -fsS "$URL/admin/tenants" -H "Authorization: Bearer $token" | grep 'Smoke Test Tenant' >/dev/null || { echo "tenant lost after restart"; exit 1; }
  echo "tenant still there after restart"
fi

kill -KILL "$pid"; wait "$pid" 2>/dev/null || true; pid=""
echo "killed (SIGKILL); starting again"
start
if [ -n "$token" ]; then
  curl -fsS "$URL/admin/tenants" -H "Authorization: Bearer $token" | grep 'Smoke Test Tenant' >/dev/null || { echo "tenant lost after SIGKILL"; exit 1; }
  echo "tenant still there after SIGKILL"
fi
kill -TERM "$pid"; wait "$pid" || true; pid=""

# Each app runs on its own too. They reuse the FerretDB the killed run left behind (or start one).
for app in api gateway admin; do
  start "dist/apps/$app/src/main.js"
  curl -fsS "$URL/health" | grep '"status":"ok"' >/dev/null || { echo "$app: /health not ok"; exit 1; }
  case "$app" in
    api) curl -fsS "$URL/docs/openapi.json" | grep '"/v1/conversations"' >/dev/null || { echo "api: no /v1 routes"; exit 1; }
      curl -fsS "$URL/app" | grep '<div id="root">' >/dev/null || { echo "api: no chat app at /app"; exit 1; } ;;
    admin) curl -fsS "$URL/docs/openapi.json" | grep '"/admin/tenants"' >/dev/null || { echo "admin: no /admin routes"; exit 1; } ;;
    # The socket.io engine handshake (the JWT is checked later, when the client joins the namespace).
    gateway) curl -fsS "$URL/socket.io/?EIO=4&transport=polling" | grep '"sid"' >/dev/null || { echo "gateway: no socket.io"; exit 1; } ;;
  esac
  kill -TERM "$pid"; wait "$pid" || true; pid=""
  echo "$app alone: healthy"
done
echo "smoke test passed"
