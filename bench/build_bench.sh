#!/usr/bin/env bash
# Ninja over the Qwen2.5-0.5B-sized state-transition toy export (--preset qwen05b, contexts
# 512..4096 x 2 chunks x infer/prefill = 20 packages -> 2 combined packages): a clean build
# (fresh store), a no-op rebuild, and a rebuild after one chunk changed (one weight of ctx1024
# chunk 2), next to combining everything from scratch with no store (combine --no-store).
#
#   bench/build_bench.sh      (JOBS: ninja -j, default: the CPUs; MLD_BENCH_WORK, MLD_BENCH_BUILD)
source "$(dirname "$0")/common.sh"
bench_build
command -v ninja >/dev/null || { echo "build_bench.sh: needs ninja (Debian: ninja-build)" >&2; exit 1; }
jobs=${JOBS:-$(ncpu)}
dir=$WORK/qwen05b-statex
out=$WORK/build-statex
if [ ! -f "$dir/toygen.json" ]; then
	rm -rf "$dir"
	"$TOYGEN" -q -o "$dir" --preset qwen05b --chunks 2 --contexts 512,1024,2048,3072,4096
fi
bytes=$(cat "$dir"/ctx*/*.mlpackage/Data/com.apple.CoreML/weights/weight.bin | wc -c)
timed() { # timed LOG COMMAND...: seconds on stdout, output in LOG
	local log=$1 t0 t1
	shift
	t0=$(now)
	"$@" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}
steps() { grep -oE '(INDEX|COMBINE|REGENERATE) [^ ]*' "$1" | sed "s|$dir/||" | tr '\n' ' '; }

rm -rf "$out"
"$MLDEDUP" ninja "$dir" -o "$out/build.ninja"
clean=$(timed "$WORK/clean.log" ninja -C "$out" -j"$jobs")
noop=$(timed "$WORK/noop.log" ninja -C "$out" -j"$jobs")
grep -q 'no work to do' "$WORK/noop.log" || { echo "build_bench.sh: the no-op rebuild did work" >&2; exit 1; }
bash "$ROOT/tests/build/flip_weight.sh" "$MLDEDUP" "$dir/ctx1024/toy_FFN_lut6_chunk_02of02.mlpackage" rope_cos
changed=$(timed "$WORK/changed.log" ninja -C "$out" -j"$jobs")
rm -rf "$WORK/nostore" && mkdir -p "$WORK/nostore"
nostore=$(timed "$WORK/nostore.log" "$MLDEDUP" combine -q --no-store --anemll "$dir" -o "$WORK/nostore")

printf 'export: %d packages, %.1f MB of weights; ninja -j%d on %d CPUs\n' \
	"$(ls -d "$dir"/ctx*/*.mlpackage | wc -l)" "$(echo "$bytes / 1000000" | bc -l)" "$jobs" "$(ncpu)"
printf '%-40s %8.2f s\n' "clean build (fresh store)" "$clean" "no-op rebuild" "$noop" \
	"one chunk changed (ctx1024 chunk 2)" "$changed" "combine --no-store, everything" "$nostore"
echo "  one chunk changed ran: $(steps "$WORK/changed.log")"
