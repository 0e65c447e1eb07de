#!/usr/bin/env bash
# Installs what leakguard's build, demo and tests need on Debian 12, and nothing when all is there.
set -euo pipefail
packages=(
  # build
  cmake gcc make pkg-config libglib2.0-dev libyaml-dev libnftables-dev libsystemd-dev libjansson-dev
  # run and test
  nftables iproute2 iputils-ping python3 dbus dbus-bin procps util-linux
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
