#!/usr/bin/env bash
# The README's first command: install what is needed, then run the main job as far as it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx talosctl version --client
echo
echo "Talos-TS is installed. Try: npx talosctl --help"
