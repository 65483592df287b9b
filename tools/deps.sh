#!/usr/bin/env bash
# Installs the system packages scry needs to build and test (Debian 12). Idempotent:
# does nothing when everything is present.
set -euo pipefail
packages=(gcc libc6-dev make pkg-config libelf-dev zlib1g-dev bpftool bpftrace systemtap-sdt-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
