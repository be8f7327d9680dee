#!/usr/bin/env bash
# Installs what dumpscrub's build, tests and benchmark need beyond a Rust
# toolchain with rustfmt and clippy. Safe to run more than once.
set -euo pipefail

need_apt=()
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)   # scripts/bench.sh reads JSON reports
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)             # linking
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
# The tests make real keys with OpenSSL (the openssl crate links libssl)
# and real OpenSSH keys with ssh-keygen.
pkg-config --exists openssl 2>/dev/null || need_apt+=(libssl-dev)
command -v ssh-keygen >/dev/null 2>&1 || need_apt+=(openssh-client)
# The ELF core tests dump a process with gcore, unwind it with gdb and
# count its segments with readelf; prlimit raises RLIMIT_CORE for a kernel core.
command -v gcore >/dev/null 2>&1 || need_apt+=(gdb)
command -v readelf >/dev/null 2>&1 || need_apt+=(binutils)
command -v prlimit >/dev/null 2>&1 || need_apt+=(util-linux)
# The compressed-dump tests compress and decompress with the real tools,
# and check that the generated man page renders.
command -v gzip >/dev/null 2>&1 || need_apt+=(gzip)
command -v zstd >/dev/null 2>&1 || need_apt+=(zstd)
command -v xz >/dev/null 2>&1 || need_apt+=(xz-utils)
command -v man >/dev/null 2>&1 || need_apt+=(man-db)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found: install a Rust toolchain (https://rustup.rs) first" >&2
  exit 1
fi
for comp in rustfmt clippy; do
  if ! cargo "${comp/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$comp"
  fi
done
# Fetch every crate now, so that later steps can run without the network.
cargo fetch --locked 2>/dev/null || cargo fetch
echo "setup: ok"
