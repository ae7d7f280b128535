#!/usr/bin/env bash
# Installs, with apt-get, every Debian 12 package that tracetool's build, tests, fuzzer and
# benchmarks need. Idempotent: when everything is already installed it touches nothing (no
# apt-get update, no network). Runs as root, or through sudo when not root.
#
#   bash scripts/install-deps.sh
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev          # libFuzzer and the sanitizer runtimes for clang
  # libraries (Debian packages, nothing vendored)
  libcli11-dev nlohmann-json3-dev libcpp-httplib-dev
  libprotobuf-dev protobuf-compiler
  libzstd-dev zstd zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libdw-dev                          # elfutils: lib/fiber's trace writer symbolizes its stacks
  # the web UI's browser tests: Debian's Chromium driven by npm's playwright-core
  chromium                           # (node and npm come with the machine)
  # the oracle: Go 1.19's `go tool trace`, and its canned traces (src/internal/trace/testdata)
  golang-1.19-go golang-1.19-src
  # lib/fiber on aarch64: a cross compiler and qemu-user run its tests (scripts/test.sh, stage arm64)
  g++-aarch64-linux-gnu qemu-user
  # GNU time (/usr/bin/time -v: peak RSS) and scripting
  time python3 gzip
)

# The browser tests' one npm package (playwright-core, pinned by tests/web/package-lock.json), with
# `npm ci`; only when the lockfile changed since the last install, so a rerun stays offline.
web_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/web"
if [[ -f $web_dir/package-lock.json ]] &&
   ! cmp -s "$web_dir/package-lock.json" "$web_dir/node_modules/.installed-lock.json"; then
  echo "install-deps: npm ci in tests/web (playwright-core for the browser tests)"
  (cd "$web_dir" && npm ci --no-audit --no-fund && cp package-lock.json node_modules/.installed-lock.json)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  if [[ "$status" != ii* ]]; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: not root and no sudo; install these by hand: ${missing[*]}" >&2
    exit 2
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
