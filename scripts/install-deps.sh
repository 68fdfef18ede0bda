#!/usr/bin/env bash
# Install the system packages glifnet needs to build (Debian/Ubuntu). Uses sudo when not root.
# Set GLIFNET_WITH_MPI=1 to add the MPI toolchain for `--features mpi`.
set -euo pipefail
pkgs=(pkg-config libhdf5-dev)
if [ "${GLIFNET_WITH_MPI:-0}" = 1 ]; then pkgs+=(libopenmpi-dev openmpi-bin libclang-dev); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "[glifnet] installing system packages: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "[glifnet] cargo not found: install Rust (https://rustup.rs) and re-run" >&2
  exit 1
fi
