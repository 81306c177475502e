#!/usr/bin/env bash
# Installs the Debian packages Scalpel needs (only those missing), then
# configures and builds into build/. Sourced by scripts/studio and scripts/test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${SCALPEL_BUILD_DIR:-$ROOT/build}"

PACKAGES=(build-essential cmake ninja-build pkg-config qt6-base-dev libqcustomplot-dev
          libtorch-dev nlohmann-json3-dev libpcre2-dev libicu-dev libopenblas0-openmp
          xvfb xauth clang-format libfaiss-dev slurm-wlm munge)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "scalpel: installing ${missing[*]}" >&2
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# LibTorch calls whatever libblas.so.3 is selected; make it OpenBLAS (about
# 15x faster than the reference BLAS).
if command -v update-alternatives >/dev/null; then
  OPENBLAS=/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3
  if [[ -e $OPENBLAS ]] && [[ $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3) != "$OPENBLAS" ]]; then
    ${SUDO:-} update-alternatives --set libblas.so.3-x86_64-linux-gnu "$OPENBLAS" >&2 || true
  fi
fi

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >&2
fi
cmake --build "$BUILD_DIR" -j"$(nproc)" >&2
