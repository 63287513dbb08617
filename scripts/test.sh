#!/usr/bin/env bash
# Build mldedup and run every test: a normal build, then the same tests under
# AddressSanitizer + UndefinedBehaviorSanitizer. Fixture tests read
# ../shared/fixtures (override with MLD_FIXTURES_DIR) and skip, saying so, if absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
fixtures=${MLD_FIXTURES_DIR:-$PWD/../shared/fixtures}
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || sysctl -n hw.ncpu)
leaks=detect_leaks=1
[ "$(uname -s)" = Darwin ] && leaks=detect_leaks=0 # LeakSanitizer: not on macOS
for variant in release asan; do
	dir=build-ci-$variant
	flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMLD_WERROR=ON -DMLD_INSTALL_TOYGEN=ON)
	[ $variant = asan ] && flags=(-DCMAKE_BUILD_TYPE=Debug -DMLD_SANITIZE=ON -DMLD_WERROR=ON -DMLD_INSTALL_TOYGEN=ON)
	echo "== $variant build" >&2
	mkdir -p "$dir"
	{ cmake -S . -B "$dir" -G Ninja "${flags[@]}" -DMLD_FIXTURES_DIR="$fixtures" && cmake --build "$dir" -- -j"$jobs"; } \
		>"$dir/build.log" 2>&1 || { tail -n 60 "$dir/build.log"; echo "the $variant build failed ($dir/build.log)" >&2; exit 1; }
	echo "== $variant tests" >&2
	(cd "$dir" && ASAN_OPTIONS=$leaks UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j"$jobs" --timeout 900)
done
