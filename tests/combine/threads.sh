#!/usr/bin/env bash
# combine_threads: verification runs on every core (MLD_THREADS) and on any SIMD path
# (MLD_CPU), and neither changes a decision, a metric or a byte: the 10-function
# multictx group and a chunked group, cold (fresh store) and store-less, with one
# thread, three, and the scalar kernels, give identical reports and outputs.
source "$(dirname "$0")/lib.sh"
need_fixtures
M=()
for ctx in 512 1024 2048 3072 4096; do
	M+=("infer_ctx$ctx=$F/multictx/ctx$ctx/toy_FFN_lut6_chunk_01of01.mlpackage"
		"prefill_ctx$ctx=$F/multictx/ctx$ctx/toy_prefill_lut6_chunk_01of01.mlpackage")
done
C=(infer="$F/chunked/toy_FFN_lut4_chunk_02of02.mlpackage" prefill="$F/chunked/toy_prefill_lut4_chunk_02of02.mlpackage")

# combine_with TAG ENV... -- SOURCES: combine cold with a fresh store, and without a store
combine_with() {
	local tag=$1
	shift
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	rm -f "$T/$tag.db"*
	env "${envs[@]}" "$MLDEDUP" combine -q --store "$T/$tag.db" --report "$T/$tag.json" -o "$T/$tag.mlpackage" "$@" ||
		bad "$tag: combine failed"
	env "${envs[@]}" "$MLDEDUP" combine -q --no-store --report "$T/$tag.ns.json" -o "$T/$tag.ns.mlpackage" "$@" ||
		bad "$tag: store-less combine failed"
}
# the report without its first lines (the output's path)
body() { grep -v '"output"' "$1"; }

for group in multictx chunked; do
	if [ $group = multictx ]; then S=("${M[@]}"); else S=("${C[@]}"); fi
	combine_with $group.t1 MLD_THREADS=1 -- "${S[@]}"
	combine_with $group.t3 MLD_THREADS=3 -- "${S[@]}"
	combine_with $group.scalar MLD_THREADS=2 MLD_CPU=scalar -- "${S[@]}"
	for v in t3 scalar; do
		for k in "" .ns; do
			if cmp -s <(body "$T/$group.t1$k.json") <(body "$T/$group.$v$k.json"); then ok; else
				bad "$group$k: the report of $v differs from one thread's"
				diff <(body "$T/$group.t1$k.json") <(body "$T/$group.$v$k.json") | head -5
			fi
			eq "$group$k: $v output" "$(pkghash "$T/$group.$v$k.mlpackage")" "$(pkghash "$T/$group.t1$k.mlpackage")"
		done
	done
	[ "$(json "$T/$group.t1.json" summary.decisions_computed)" -gt 0 ] && ok || bad "$group: nothing was verified"
	if cmp -s <(body "$T/$group.t1.json" | grep -v 'decisions_\|weights_dequantized') <(body "$T/$group.t1.ns.json" | grep -v 'decisions_\|weights_dequantized'); then ok; else
		bad "$group: the store-less report differs"
	fi
done
finish
