#!/usr/bin/env bash
# The README's test command: install what is needed, then run the one gate (types, lint, tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npm run check
