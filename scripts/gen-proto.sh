#!/usr/bin/env bash
# Generates TypeScript for every api/**/*.proto into packages/machinery/src/gen (or the directory
# given as $1, which the drift check uses). Needs Debian's protoc and libprotobuf-dev (for the
# google/protobuf/*.proto well-known types) plus the protoc-gen-es plugin from node_modules.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/packages/machinery/src/gen}"
plugin="$root/node_modules/.bin/protoc-gen-es"
include=/usr/include

[ -x "$plugin" ] || { echo "gen-proto: $plugin missing; run npm install" >&2; exit 1; }
[ -f "$include/google/protobuf/duration.proto" ] || { echo "gen-proto: $include/google/protobuf missing; install libprotobuf-dev" >&2; exit 1; }

cd "$root/api"
mapfile -t files < <(find . -name '*.proto' -printf '%P\n' | LC_ALL=C sort)
rm -rf "$out"
mkdir -p "$out"
protoc -I . -I "$include" \
  --plugin=protoc-gen-es="$plugin" \
  --es_out="$out" \
  --es_opt=target=ts,import_extension=ts \
  "${files[@]}"

# apid's path → method-kind table comes from the same protos (apid carries no descriptors).
(cd "$root" && npx tsx scripts/gen-apid-methods.ts)
