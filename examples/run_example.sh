#!/bin/sh
# The main job, end to end: build mldedup with CMake if needed, run the chunked example (toy
# export -> `mldedup ninja` -> ninja: index + combine -> ninja check: verify), then print the
# combine summary and the verify result of each combined package.
#
#   examples/run_example.sh     (BUILD_DIR: the CMake build directory, default <repo>/build)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
mkdir -p "$build"
log=$build/run_example-cmake.log
echo "== building mldedup in $build (log: $log)"
{
	if [ ! -f "$build/CMakeCache.txt" ]; then
		generator=
		command -v ninja >/dev/null && generator="-G Ninja"
		cmake -S "$root" -B "$build" $generator -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF
	fi
	cmake --build "$build" --target mldedup-cli mldedup-toygen
} >"$log" 2>&1 || { cat "$log"; exit 1; }
export MLDEDUP="$build/mldedup" TOYGEN="$build/examples/mldedup-toygen"

work=$build/example-chunked
rm -rf "$work" # from a fresh export and store, every time
echo "== building $work/out with ninja"
sh "$root/examples/chunked/run.sh" "$work"

# The verify edges of build.ninja name each output and its sources. Ninja ran combine and
# verify quietly; say here what they did (the summary is planned again from the build's store).
cd "$work/out"
awk '/^build .*: mldedup_verify / { v = 1; next }
     v && /^  pkgout = / { p = substr($0, 12) }
     v && /^  sources = / { print p " " substr($0, 13); v = 0 }' build.ninja |
	while read -r line; do
		eval "set -- $line"
		out=$1
		shift
		echo
		echo "== combine summary (planned again from the build's store: the same plan ninja wrote)"
		"$MLDEDUP" combine --dry-run --store mldedup-store.db -o "$out" "$@" 2>&1
		echo "== verify"
		"$MLDEDUP" verify "$out" "$@" 2>&1
	done
