#!/usr/bin/env bash
# Installs what leakguard's build, demo and tests need on Debian 12, and nothing when all is there.
set -euo pipefail
packages=(
  # build
  cmake gcc make pkg-config libglib2.0-dev libyaml-dev libnftables-dev libsystemd-dev libjansson-dev libnftnl-dev libmnl-dev
  # the tamper watcher (src/watch.c) reads nftables netlink events, and net events (src/netlog.c) read
  # NFLOG group 7401, with libmnl, which libnftables already uses
  libmnl-dev
  # run and test
  nftables iproute2 iputils-ping python3 dbus dbus-bin procps util-linux
  # daemon tests (tests/kernel/test-daemon-*.sh): busctl, gdbus, python3-dbus with a GLib main loop,
  # a real polkitd (run in a private mount namespace, the host's polkit files are never touched)
  systemd libglib2.0-bin python3-dbus python3-gi polkitd
  # status on a terminal (tests/kernel/test-daemon-explain.sh runs leakguardctl under script(1))
  bsdutils
  # end-to-end leak tests (tests/kernel/test-e2e-*.sh): real WireGuard tunnels in userspace (the kernel
  # has no WireGuard module), resolvers, a capture of what leaves the protected namespace
  wireguard-go wireguard-tools dnsmasq-base tcpdump
  # hardening (issue 7): libFuzzer targets built with clang (fuzz/), the daemon under valgrind
  # (tests/kernel/test-valgrind.sh), symbolized sanitizer reports
  clang libclang-rt-14-dev llvm valgrind
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
