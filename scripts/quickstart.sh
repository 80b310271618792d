#!/usr/bin/env bash
# The README's first command: install what is needed, build the programs, and bring up a local
# cluster (1 control plane + 1 worker by default; extra arguments go to `talosctl cluster create`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npm run --silent build
if [ "$(id -u)" -ne 0 ]; then
  echo "talosctl cluster create needs root (network namespaces); run: sudo npm run cluster" >&2
  exit 1
fi
node dist/talosctl.mjs cluster create "$@"
cat <<'MSG'

The cluster is up. Reach it with the context just merged into your talosconfig:
  npx talosctl version
  npx talosctl services -n 10.5.0.2,10.5.0.3
  npx talosctl -n 10.5.0.2 etcd members
  npx talosctl health
Tear it down with:
  npx talosctl cluster destroy
MSG
