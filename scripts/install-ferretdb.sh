#!/usr/bin/env bash
# Builds FerretDB (the MongoDB-wire server used for development and tests) from the Go module proxy
# and caches the binary outside the repo, so later clones and runs reuse it.
#
# Why not `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`: here the module proxy answers
# 403 for the module's @v/list, which `go install pkg@version` reads for its deprecation check, and the
# module zip lacks build/version/version.txt (generated in FerretDB's own build), so the binary would
# panic at start. We fetch the exact version through a throwaway module, copy its source, write
# version.txt, and build.
#
# Three fixes are applied on top of v1.24.2 (FERRETDB_ID_INDEX_FIX=0 builds it untouched, as
# ferretdb-<version> instead of ferretdb-<version>-idfix3), all about which index a look-up can use.
# 1) The SQLite backend creates its unique `_id`
# index on the expression `_ferretdb_sjson->"_id"` but looks documents up with
# `_ferretdb_sjson->'$._id'`. SQLite only uses an expression index for the same expression, so every
# lookup, update and delete by `_id` scanned the whole table (EXPLAIN QUERY PLAN: SCAN, 90 ms per
# lookup at 20,000 documents; SEARCH ... USING INDEX and ~1 ms with the fix). Both expressions
# denote the same value, so the fix changes which plan SQLite picks and nothing else; data directories
# of either build work with the other. Upstream tracks the SQLite index expressions in
# FerretDB/FerretDB#3340.
# 2) The PostgreSQL backend's unique `_id` index is a btree on `_jsonb->'_id'`, but it pushes an `_id`
# equality filter down as `_jsonb->$1 @> $2` (containment), which a btree cannot serve: every find,
# findAndModify and update by `_id` scanned the whole table (EXPLAIN: Seq Scan, 7 ms at 50,000 rows and
# linear in the table; Index Scan and 0.04 ms with `=`). For a string or ObjectId `_id` containment is
# equality (an `_id` is never an array), and FerretDB filters every fetched document again in Go, so
# the fix pushes `_jsonb->'_id' = $n` for those two types and changes only the plan.
# 3) For the same reason no other index serves a query on the PostgreSQL backend: every equality FerretDB
# pushes down is `_jsonb->'field' @> value`, which its btree indexes on `_jsonb->'field'` cannot serve,
# so each such query is a pass of PostgreSQL over the whole table. A GIN index on `(_jsonb->'field')`
# serves exactly that containment (and keeps its array semantics), so the fix creates a non-unique index
# whose name starts with `ferretdb_gin_` as `USING gin` (without DESC, which GIN has no use for). Only
# such indexes change; libs/database (ferretdb-equality-indexes.ts) creates them, on FerretDB only, for
# the fields a repository reads by equality out of a large table (a long webhook outage's parked rows:
# 200,000 parked rows cost the free due-rows scan 120 ms per query before, 21 ms with it, as with none).
set -euo pipefail

VERSION="${FERRETDB_VERSION:-v1.24.2}"
ID_INDEX_FIX="${FERRETDB_ID_INDEX_FIX:-1}"
SUFFIX=""
[ "$ID_INDEX_FIX" = "1" ] && SUFFIX="-idfix3"
CACHE="${CHAT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-platform}"
BIN="${FERRETDB_BIN:-$CACHE/bin/ferretdb-$VERSION$SUFFIX}"

# Whole outputs are read (no head / grep -q): with pipefail an early-closing reader turns the
# writer's SIGPIPE into a failure.
if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep "version: $VERSION" >/dev/null; then
  echo "[ferretdb] $VERSION already built: $BIN"
  exit 0
fi
command -v go >/dev/null || { echo "[ferretdb] Go is required to build FerretDB (https://go.dev/dl)"; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GOFLAGS="-mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
echo "[ferretdb] 1/3 fetching github.com/FerretDB/FerretDB@$VERSION from the Go module proxy"
( cd "$work" && go mod init ferretdb-build >/dev/null 2>&1 && go get "github.com/FerretDB/FerretDB@$VERSION" )
src_dir="$(cd "$work" && go mod download -json "github.com/FerretDB/FerretDB@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -n "$src_dir" ] || { echo "[ferretdb] could not locate the module source"; exit 1; }
cp -r "$src_dir" "$work/src"
chmod -R u+w "$work/src"
echo "$VERSION" > "$work/src/build/version/version.txt"
if [ "$ID_INDEX_FIX" = "1" ]; then
  meta="$work/src/internal/backends/sqlite/metadata/metadata.go"
  before="IDColumn = DefaultColumn + \"->'\$._id'\""
  after="IDColumn = DefaultColumn + \"->'_id'\""
  grep -F "$before" "$meta" >/dev/null || { echo "[ferretdb] the _id index fix does not apply to $VERSION (set FERRETDB_ID_INDEX_FIX=0)"; exit 1; }
  sed -i "s|$before|$after|" "$meta"
  grep -F "$after" "$meta" >/dev/null || { echo "[ferretdb] applying the _id index fix failed"; exit 1; }
  echo "[ferretdb]     applied the _id index fix (lookups by _id use the SQLite index)"
  query="$work/src/internal/backends/postgresql/query.go"
  perl -0pi -e 's{(\tcase string, types\.ObjectID, time\.Time:\n\t\t// merge with the case below\?\n)}{$1\t\tif _, isTime := v.(time.Time); !isTime && k == "_id" && operator == "->" {\n\t\t\tfilter = fmt.Sprintf(`%s = %s`, metadata.IDColumn, p.Next())\n\t\t\targs = append(args, string(must.NotFail(sjson.MarshalSingleValue(v))))\n\n\t\t\tbreak\n\t\t}\n\n}' "$query"
  grep -F 'k == "_id" && operator == "->"' "$query" >/dev/null || { echo "[ferretdb] the PostgreSQL _id fix does not apply to $VERSION (set FERRETDB_ID_INDEX_FIX=0)"; exit 1; }
  echo "[ferretdb]     applied the PostgreSQL _id fix (equality by _id uses the btree index)"
  registry="$work/src/internal/backends/postgresql/metadata/registry.go"
  perl -0pi -e 's#\t\tq \+= "INDEX %s ON %s \(%s\)"\n#\t\tgin := !index.Unique && strings.HasPrefix(index.Name, "ferretdb_gin_")\n\t\tif gin {\n\t\t\tq += "INDEX %s ON %s USING gin (%s)"\n\t\t} else {\n\t\t\tq += "INDEX %s ON %s (%s)"\n\t\t}\n#; s#\t\t\tif key\.Descending \{\n#\t\t\tif key.Descending && !gin {\n#' "$registry"
  grep -F 'if key.Descending && !gin {' "$registry" >/dev/null && grep -F 'USING gin (%s)' "$registry" >/dev/null || { echo "[ferretdb] the PostgreSQL GIN index fix does not apply to $VERSION (set FERRETDB_ID_INDEX_FIX=0)"; exit 1; }
  echo "[ferretdb]     applied the PostgreSQL GIN index fix (indexes named ferretdb_gin_* serve equality)"
fi

echo "[ferretdb] 2/3 downloading dependencies"
( cd "$work/src" && go mod download -x 2>&1 | grep -c '^# get .*200 OK' | sed 's/^/[ferretdb]     modules fetched: /' || true )

echo "[ferretdb] 3/3 compiling (about 1-2 minutes on 2 cores; each line is a package)"
mkdir -p "$(dirname "$BIN")"
n=0
# The compiler's whole output goes to a log; only a count is shown, and the log's end when the build fails.
# The binary is written under a name of this run's own, then renamed: two installs at once (a test run
# and `npm start` on a new machine) each finish with a whole binary instead of one failing.
buildlog="$work/build.log"
tmp="$BIN.tmp.$$"
( cd "$work/src" && go build -v -trimpath -o "$tmp" ./cmd/ferretdb 2>&1 ) | tee "$buildlog" | while read -r line; do
  n=$((n + 1))
  if [ $((n % 25)) -eq 0 ]; then echo "[ferretdb]     $n packages compiled..."; fi
done
[ -x "$tmp" ] || { echo "[ferretdb] build failed; the compiler's last lines:"; tail -n 30 "$buildlog" | sed 's/^/[ferretdb]     /'; exit 1; }
mv -f "$tmp" "$BIN"
"$BIN" --version | sed -n '1s/^/[ferretdb] built: /p'
echo "[ferretdb] binary: $BIN"
