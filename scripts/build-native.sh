#!/usr/bin/env bash
# Builds machined's native code: the addon (packages/machined/src/linux/native) with the node-gyp that
# ships with npm, against the installed Node's headers (/usr/include/node), so no download is needed;
# and the initramfs /init (packages/machined/src/linux/init/init.c), a static program → dist/init.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/packages/machined/src/linux/native"
gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
(cd "$dir" && node "$gyp" rebuild --nodedir="$nodedir" --silent >/dev/null)
echo "built $dir/build/Release/talos_native.node"
mkdir -p "$root/dist"
${CC:-gcc} -static -Os -s -Wall -Wextra -Werror -o "$root/dist/init" "$root/packages/machined/src/linux/init/init.c"
echo "built $root/dist/init"
