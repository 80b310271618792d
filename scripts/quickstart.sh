#!/usr/bin/env bash
# The README's first command: bring up a local cluster with the process back end (1 control plane +
# 1 worker by default; extra arguments go to `talosctl cluster create`). Checks for root before
# anything else, then installs only what that back end needs and builds the programs.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "npm run cluster needs root (talosctl cluster create makes network namespaces and veth pairs): run: sudo npm run cluster" >&2
  exit 1
fi
bash scripts/ensure-deps.sh cluster
npm run --silent build
node packages/talosctl/bin/talosctl.js cluster create "$@"
cat <<'MSG'

The cluster is up. Reach it with the context just merged into your talosconfig:
  npx talosctl version
  npx talosctl services -n 10.5.0.2,10.5.0.3
  npx talosctl -n 10.5.0.2 etcd members
  npx talosctl health
Tear it down with:
  npx talosctl cluster destroy
MSG
