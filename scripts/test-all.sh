#!/usr/bin/env bash
# The README's test command: install what is needed, run the one gate (types, lint, all tests), then
# the slow suite that builds the OS image and boots it under QEMU (on its own, so its CPU use does not
# disturb the timing of the other suites).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh test
npm run check
# One VM suite at a time (each boots QEMU under TCG on the shared cores); a VM file shares one VM
# between its cases and may take up to ~8 minutes, past the runner's default of 5 per file.
TALOS_SLOW=1 npm test -- test/integration/vm --test-concurrency=1 --test-timeout=900000
TALOS_SLOW=1 npm test -- test/integration/qemu-cluster
