#!/usr/bin/env bash
# combine_rerun: the same combine twice on one store. The second run reads nothing
# it has seen (weights_dequantized 0), decides nothing anew (decisions_computed 0,
# decisions_reused > 0) and writes byte-identical weight.bin, model.mlmodel and
# Manifest.json; so do a run to another path and a run without the store.
source "$(dirname "$0")/lib.sh"
need_fixtures

# rerun NAME SOURCES...: the check for one group.
rerun() {
	local name=$1
	shift
	local out=$T/$name.mlpackage db=$T/$name.db
	"$MLDEDUP" combine -q --store "$db" --json -o "$out" "$@" >"$T/$name.1.json" 2>"$T/err" || {
		bad "$name: first run failed: $(cat "$T/err")"
		return
	}
	local h1 d=$out/Data/com.apple.CoreML
	h1=$(pkghash "$out")
	sha256 "$d/weights/weight.bin" "$d/model.mlmodel" | cut -d' ' -f1 >"$T/$name.sums1"
	[ "$(json "$T/$name.1.json" decisions_computed)" -gt 0 ] && ok || bad "$name: first run computed no decisions"
	[ "$(json "$T/$name.1.json" weights_dequantized)" -gt 0 ] && ok || bad "$name: first run dequantized nothing"

	"$MLDEDUP" combine -q --store "$db" --json -o "$out" "$@" >"$T/$name.2.json" 2>"$T/err" || {
		bad "$name: second run failed: $(cat "$T/err")"
		return
	}
	eq "$name: second run weights_dequantized" "$(json "$T/$name.2.json" weights_dequantized)" 0
	eq "$name: second run decisions_computed" "$(json "$T/$name.2.json" decisions_computed)" 0
	eq "$name: second run decisions_reused = first run's decisions_computed" \
		"$(json "$T/$name.2.json" decisions_reused)" "$(json "$T/$name.1.json" decisions_computed)"
	[ "$(json "$T/$name.2.json" decisions_reused)" -gt 0 ] && ok || bad "$name: second run reused no decisions"
	eq "$name: same by_reason" "$(json "$T/$name.2.json" by_reason)" "$(json "$T/$name.1.json" by_reason)"
	eq "$name: same bytes_after" "$(json "$T/$name.2.json" bytes_after)" "$(json "$T/$name.1.json" bytes_after)"
	sha256 "$d/weights/weight.bin" "$d/model.mlmodel" | cut -d' ' -f1 >"$T/$name.sums2"
	if cmp -s "$T/$name.sums1" "$T/$name.sums2"; then ok; else bad "$name: second run's weight.bin / model.mlmodel differ"; fi
	eq "$name: second run package hash" "$(pkghash "$out")" "$h1"

	# to another path, and with no store at all: still the same bytes
	"$MLDEDUP" combine -q --store "$db" -o "$T/$name.other.mlpackage" "$@" 2>"$T/err" || bad "$name: run to another path failed"
	eq "$name: output at another path" "$(pkghash "$T/$name.other.mlpackage")" "$h1"
	"$MLDEDUP" combine -q --no-store --json -o "$T/$name.nostore.mlpackage" "$@" >"$T/$name.3.json" 2>"$T/err" ||
		bad "$name: --no-store run failed"
	eq "$name: --no-store output" "$(pkghash "$T/$name.nostore.mlpackage")" "$h1"
	eq "$name: --no-store decisions_reused" "$(json "$T/$name.3.json" decisions_reused)" 0
	expect 0 "$name: verify the rerun output" "0 failures" -- "$MLDEDUP" verify "$out" "$@"
	echo "$name: rerun reused $(json "$T/$name.2.json" decisions_reused) decisions, output $h1"
}

C=$F/chunked
rerun lut6_1 infer="$C/toy_FFN_lut6_chunk_01of02.mlpackage" prefill="$C/toy_prefill_lut6_chunk_01of02.mlpackage"
M=()
for ctx in 512 1024 2048 3072 4096; do
	M+=("infer_ctx$ctx=$F/multictx/ctx$ctx/toy_FFN_lut6_chunk_01of01.mlpackage"
		"prefill_ctx$ctx=$F/multictx/ctx$ctx/toy_prefill_lut6_chunk_01of01.mlpackage")
done
rerun multictx "${M[@]}"
I=$F/ios16
rerun ios16 infer="$I/toy_FFN_ios16_lut6_chunk_01of02.mlpackage" prefill="$I/toy_prefill_ios16_lut6_chunk_01of02.mlpackage"
finish
