#!/usr/bin/env bash
# The whole test suite on AArch64 (Apple Silicon's instruction set): a Linux/aarch64 cross
# build (cmake/aarch64-linux-gnu.cmake, Release with -Werror), every ctest test run under
# qemu-user. The default dispatch runs the NEON kernels; the kernel tests run once more
# with MLD_CPU=scalar. Needs .ci/deps.sh's packages.
set -euo pipefail
cd "$(dirname "$0")/.."
fixtures=${MLD_FIXTURES_DIR:-$PWD/../shared/fixtures}
dir=build-ci-aarch64
jobs=$(getconf _NPROCESSORS_ONLN)
mkdir -p "$dir"
log=$PWD/$dir/ci-build.log
{
	cmake -S . -B "$dir" -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release \
		-DMLD_WERROR=ON -DMLD_INSTALL_TOYGEN=ON -DMLD_FIXTURES_DIR="$fixtures" && cmake --build "$dir" -- -j"$jobs"
} >"$log" 2>&1 || { tail -n 60 "$log"; echo "the aarch64 build failed (log: $log)" >&2; exit 1; }
file "$dir/mldedup" >&2
echo "== aarch64 tests under the emulator: $(sed -n 's/^exec \(.*\) "[^"]*" "\$@"$/\1/p' "$dir/emu/mldedup")" >&2
"$dir/emu/mldedup" --version >&2
echo "== under the emulator, combine_kill is trimmed (label trimmed-under-emulator: the 2-function combine," \
	"coarse steps, half the kills) and the build_* tests run with MLD_PLATFORM_FALLBACK=1 (label" \
	"platform-fallback-under-emulator: build files run mldedup from PATH, the wrapper); nothing is skipped" >&2
cd "$dir"
ctest --output-on-failure -j"$jobs" --timeout 1800
echo "== aarch64 kernel tests with MLD_CPU=scalar (the portable paths, on the same machine)" >&2
MLD_CPU=scalar ctest --output-on-failure -j"$jobs" -R '^unit_(lutkern|hash|digest|dequant|decode)$|^lib_stream_digest$'
