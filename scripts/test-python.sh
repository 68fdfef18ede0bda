#!/usr/bin/env bash
# Build and test the Python package (python/, issue #17): a venv in .venv-test, `pip install .`
# from the repository root (maturin builds python/Cargo.toml), then pytest python/tests
# against the CLI binary (built here with cargo build --release). Works on a fresh Debian
# machine: installs python3-venv/python3-dev and the build packages when missing.
# Exit code: pytest's; "no tests collected" (5) counts as a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

"$ROOT/scripts/install-deps.sh"
PY=${PYTHON:-python3}
pkgs=()
command -v "$PY" >/dev/null 2>&1 || pkgs+=(python3)
if command -v dpkg-query >/dev/null 2>&1 && [ "$PY" = python3 ] && [ "$(command -v python3 || true)" = /usr/bin/python3 ]; then
  for p in python3-venv python3-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || pkgs+=("$p")
  done
fi
if [ ${#pkgs[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "[glifnet] installing system packages: ${pkgs[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${pkgs[@]}"
fi

export HDF5_USE_FILE_LOCKING=FALSE
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --release --bin glifnet
export GLIFNET_BIN="$CARGO_TARGET_DIR/release/glifnet"

VENV="$ROOT/.venv-test"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "maturin>=1.5,<2" pytest numpy pandas h5py
# the package itself (its runtime dependencies numpy and pandas are installed above)
"$VENV/bin/python" -m pip install -q --force-reinstall --no-deps .

set +e
(cd "$ROOT/python/tests" && "$VENV/bin/python" -m pytest -q "$@" .)
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "[glifnet] pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
