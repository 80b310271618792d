#!/usr/bin/env bash
# The README's test command: install what is needed, run the one gate (types, lint, all tests), then
# the slow suite that builds the OS image and boots it under QEMU (on its own, so its CPU use does not
# disturb the timing of the other suites).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh test
npm run check
# One VM suite at a time (each boots QEMU under TCG on the shared cores); a VM file shares its VMs
# between its cases, so one case may take longer than the runner's default of 5 minutes.
TALOS_SLOW=1 npm test -- test/integration/vm.test test/integration/vm-disk test/integration/vm-install test/integration/vm-net test/integration/vm-kubespan --test-concurrency=1 --test-timeout=1700000
# A 1 control plane + 1 worker qemu cluster installed to disk from its registry: reboot, upgrade,
# rollback, bad installer references refused, a slot that panics rolled back by itself.
TALOS_SLOW=1 npm test -- test/integration/vm-cluster --test-timeout=2400000
# 3 control planes on disk: the quorum refusal, the one-at-a-time etcd claim, --preserve=false rejoin.
# (It also covers what qemu-cluster shows: 3 control planes created healthy and destroyed cleanly.)
TALOS_SLOW=1 npm test -- test/integration/vm-quorum --test-timeout=2400000
