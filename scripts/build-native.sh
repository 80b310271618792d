#!/usr/bin/env bash
# Builds machined's native addon (packages/machined/src/linux/native) with the node-gyp that ships
# with npm, against the installed Node's headers (/usr/include/node), so no download is needed.
set -euo pipefail
dir="$(cd "$(dirname "$0")/../packages/machined/src/linux/native" && pwd)"
gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
cd "$dir"
node "$gyp" rebuild --nodedir="$nodedir" --silent >/dev/null
echo "built $dir/build/Release/talos_native.node"
