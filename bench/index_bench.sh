#!/usr/bin/env bash
# Index throughput on the Qwen2.5-0.5B-sized toy export, as a ratio to a plain
# read + XXH3-128 of the same weight.bin files measured in the same run (the
# physical limit). Files are read once first so both run from the page cache.
# Both hash with the same XXH3 build; MLD_CPU=scalar|avx2|avx512|neon caps the
# kernels both use (bench/kernbench.c times them one by one).
source "$(dirname "$0")/common.sh"
bench_build
dir=$(qwen_export)
runs=${RUNS:-5}
files=("$dir"/*.mlpackage/Data/com.apple.CoreML/weights/weight.bin)
cat "${files[@]}" >/dev/null
bytes=$(cat "${files[@]}" | wc -c)
raw=() idx=() idx_warm=()
for i in $(seq "$runs"); do
	raw+=("$("$RAWHASH" "${files[@]}" | awk '{print $2}')")
	rm -f "$WORK/index.db"*
	t0=$(now); "$MLDEDUP" index -q --store "$WORK/index.db" "$dir"/*.mlpackage; t1=$(now)
	idx+=("$(echo "$t1 - $t0" | bc -l)")
	t0=$(now); "$MLDEDUP" index -q --store "$WORK/index.db" "$dir"/*.mlpackage; t1=$(now)
	idx_warm+=("$(echo "$t1 - $t0" | bc -l)")
done
r=$(printf '%s\n' "${raw[@]}" | median)
x=$(printf '%s\n' "${idx[@]}" | median)
w=$(printf '%s\n' "${idx_warm[@]}" | median)
printf 'kernels                 %s\n' "$("$KERNBENCH" --paths)"
printf 'weight bytes            %d (%d packages)\n' "$bytes" "${#files[@]}"
printf 'raw read+XXH3-128       %.3f s  %.0f MB/s\n' "$r" "$(echo "$bytes / $r / 1000000" | bc -l)"
printf 'mldedup index (cold)    %.3f s  %.0f MB/s  = %.3f x raw\n' "$x" "$(echo "$bytes / $x / 1000000" | bc -l)" "$(echo "$r / $x" | bc -l)"
printf 'mldedup index (again)   %.3f s  (unchanged packages are not read)\n' "$w"
