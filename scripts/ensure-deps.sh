#!/usr/bin/env bash
# Installs what Talos-TS needs on a fresh Debian 12 machine with Node 20: npm packages (from the
# lockfile) and the real programs the tests start. Safe to run again; skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(graphviz openssl etcd-server etcd-client protobuf-compiler libprotobuf-dev python3-grpcio python3-cryptography iproute2
  # the OS image (issue 7): kernel, programs shipped in it, image tools, QEMU, and node-gyp's compilers
  linux-image-amd64 containerd runc libseccomp2 squashfs-tools cpio lz4 zstd qemu-system-x86 binutils make g++ libc6-dev python3)
debs+=(tmux unzip)  # talosctl's terminal (dashboard) and support-bundle tests
command -v kubectl >/dev/null || debs+=(kubernetes-client)  # kubectl for the kubeconfig test
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

stamp=node_modules/.talos-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
fi

# machined's native addon (mount, reboot, finit_module, netlink, ...), built against this Node.
addon=packages/machined/src/linux/native/build/Release/talos_native.node
if [ ! -f "$addon" ] || [ packages/machined/src/linux/native/talos_native.c -nt "$addon" ]; then
  bash scripts/build-native.sh
fi
