#!/usr/bin/env bash
# Installs every Debian package Hefery's build, tests and demo need.
# Idempotent; run as root on a fresh Debian 12 machine.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  # native addon build
  libvirt-dev pkg-config build-essential
  # real hypervisor stack (QEMU under TCG)
  libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
  qemu-system-x86 qemu-utils
  # guest image build
  busybox-static cpio gzip dpkg-dev
  # network namespace, bridge, veth
  iproute2 iptables
  # real SSH server and client for extension tests
  openssh-server openssh-client
  # reference HMM implementation for the predictor's correctness tests
  python3-pomegranate python3-numpy
  # browser and code-server build deps for end-to-end tests
  chromium libkrb5-dev
  # load generator for scenarios
  wrk
  sqlite3 jq procps psmisc
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
