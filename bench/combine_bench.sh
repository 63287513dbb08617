#!/usr/bin/env bash
# Combine of the Qwen2.5-0.5B-sized 2-chunk toy export (infer + prefill per chunk):
# cold store (indexes and verifies everything), warm store (decisions reused), and
# no store at all; bytes processed per second = source weight bytes / wall time.
source "$(dirname "$0")/common.sh"
bench_build
dir=$(qwen_export)
out=$WORK/combined
runs=${RUNS:-3}
bytes=$(cat "$dir"/*.mlpackage/Data/com.apple.CoreML/weights/weight.bin | wc -c)
files=("$dir"/*.mlpackage/Data/com.apple.CoreML/weights/weight.bin)
combine() { "$MLDEDUP" combine -q "$@" --anemll "$dir" -o "$out"; }
cold=() warm=() nostore=() raw=()
for i in $(seq "$runs"); do
	rm -rf "$out" "$WORK/combine.db"* && mkdir -p "$out"
	raw+=("$("$RAWHASH" "${files[@]}" | awk '{print $2}')")
	t0=$(now); combine --store "$WORK/combine.db"; t1=$(now); cold+=("$(echo "$t1 - $t0" | bc -l)")
	t0=$(now); combine --store "$WORK/combine.db"; t1=$(now); warm+=("$(echo "$t1 - $t0" | bc -l)")
	t0=$(now); combine --no-store; t1=$(now); nostore+=("$(echo "$t1 - $t0" | bc -l)")
done
"$MLDEDUP" combine --store "$WORK/combine.db" --anemll "$dir" -o "$out" 2>&1 | sed 's/^/  /'
r=$(printf '%s\n' "${raw[@]}" | median)
line() { printf '%-24s %7.3f s  %6.0f MB/s  (%.3f x raw read+hash)\n' "$1" "$2" "$(echo "$bytes / $2 / 1000000" | bc -l)" "$(echo "$r / $2" | bc -l)"; }
printf 'source weight bytes      %d\n' "$bytes"
line "raw read+XXH3-128" "$r"
line "combine, cold store" "$(printf '%s\n' "${cold[@]}" | median)"
line "combine, warm store" "$(printf '%s\n' "${warm[@]}" | median)"
line "combine, no store" "$(printf '%s\n' "${nostore[@]}" | median)"
