# Shared helpers of the bench scripts: build a release tree, find tools, medians.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${MLD_BENCH_BUILD:-$ROOT/build-bench}
WORK=${MLD_BENCH_WORK:-/tmp/mldedup-bench}
bench_build() {
	bash "$ROOT/scripts/deps.sh"
	cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
	cmake --build "$BUILD" >/dev/null
	MLDEDUP=$BUILD/mldedup
	TOYGEN=$BUILD/examples/mldedup-toygen
	RAWHASH=$BUILD/bench/mldedup-rawhash
	KERNBENCH=$BUILD/bench/mldedup-kernbench
}
# seconds since the epoch with a fraction (date +%N is GNU only)
now() { if [ -n "${EPOCHREALTIME:-}" ]; then echo "${EPOCHREALTIME/,/.}"; else perl -MTime::HiRes=time -e 'printf "%.6f\n", time()'; fi; }
ncpu() { getconf _NPROCESSORS_ONLN 2>/dev/null || sysctl -n hw.ncpu; }
# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# the Qwen2.5-0.5B-sized 2-chunk export (generated once, reused)
qwen_export() {
	local dir=$WORK/qwen05b
	if [ ! -f "$dir/toygen.json" ]; then
		rm -rf "$dir"
		"$TOYGEN" -q -o "$dir" --preset qwen05b
	fi
	echo "$dir"
}
