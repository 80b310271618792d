#!/usr/bin/env bash
# Installs what one Talos-TS command needs on a fresh Debian 12 machine with Node 20, and nothing
# more: npm packages from the lockfile, then the Debian packages of the chosen profile.
#
#   ensure-deps.sh cluster   `npm run cluster` (process back end): iproute2, etcd-server, and the
#                            compilers for machined's native addon (usually already there)
#   ensure-deps.sh image     `talos-imager build`: Debian's kernel, the programs the image ships
#                            (containerd, runc, etcd), image tools and the compilers for machined's
#                            native parts (the addon and the initramfs /init, built here too)
#   ensure-deps.sh qemu      `talosctl cluster create --provisioner qemu`: image + QEMU + docker-registry
#                            (the cluster's registry holding the installer)
#   ensure-deps.sh test      `npm run test:all`: every check and test, the VM suites included
#
# Safe to run again; installs only what is missing. Debian packages need root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${1:-test}"
cluster=(iproute2 etcd-server make g++ libc6-dev python3)
image=(linux-image-amd64 containerd runc libseccomp2 etcd-server squashfs-tools lz4 zstd binutils make g++ libc6-dev python3 grub-pc-bin xfsprogs)
case "$profile" in
  cluster) debs=("${cluster[@]}") ;;
  image) debs=("${image[@]}") ;;
  qemu) debs=("${cluster[@]}" "${image[@]}" qemu-system-x86 docker-registry) ;;
  test) debs=("${cluster[@]}" "${image[@]}" qemu-system-x86 graphviz openssl etcd-client protobuf-compiler libprotobuf-dev python3-grpcio python3-cryptography cpio tmux unzip dnsmasq-base chrony nftables fdisk gdisk docker-registry)
    # kubectl for the kubeconfig test (Debian ships it as kubernetes-client)
    command -v kubectl >/dev/null || debs+=(kubernetes-client) ;;
  *)
    echo "usage: $0 cluster|image|qemu|test" >&2
    exit 2
    ;;
esac

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "installing ${missing[*]} needs root: run as root" >&2; exit 1; }
    SUDO="sudo"
  fi
  echo "installing Debian packages ($profile): ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The package enables a system-wide registry on :5000; tests and `cluster create` run their own.
  if [[ " ${missing[*]} " == *" docker-registry "* ]]; then
    $SUDO systemctl disable --now docker-registry >/dev/null 2>&1 || $SUDO update-rc.d docker-registry disable >/dev/null 2>&1 || true
  fi
fi

stamp=node_modules/.talos-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
fi

# machined's native addon (mount, reboot, finit_module, netlink, ...), built against this Node: a node
# booted from the image uses it, and so does every process node of `npm run cluster`, which owns its
# network namespace and configures it over netlink.
addon=packages/machined/src/linux/native/build/Release/talos_native.node
if [ ! -f "$addon" ] || [ packages/machined/src/linux/native/talos_native.c -nt "$addon" ]; then
  bash scripts/build-native.sh
fi
