#!/usr/bin/env bash
# combine_strict: with --strict the near pairs with max |d| > 0.01 become
# rejected_threshold, deq_close counts exactly the near pairs within 0.01, verify
# --strict passes on that output and fails on the relaxed one for exactly those pairs
# (combine_check strict); and the CLI's --strict says so in --json and in the report.
source "$(dirname "$0")/lib.sh"
need_fixtures
"$COMBINE_CHECK" strict "$F" "$T" || bad "combine_check strict"

# The CLI: lut4 chunk 2 has one near pair over 0.01 (layers_2_mlp_gate_proj_weight).
A=$F/chunked/toy_FFN_lut4_chunk_02of02.mlpackage
P=$F/chunked/toy_prefill_lut4_chunk_02of02.mlpackage
W=layers_2_mlp_gate_proj_weight_palettized
"$MLDEDUP" combine -q --no-store --json -o "$T/relaxed.mlpackage" --report "$T/relaxed.json" infer="$A" prefill="$P" >"$T/relaxed.stats" ||
	bad "relaxed combine failed"
"$MLDEDUP" combine -q --no-store --strict --json -o "$T/strict.mlpackage" --report "$T/strict.json" infer="$A" prefill="$P" >"$T/strict.stats" ||
	bad "--strict combine failed"
r=$(json "$T/relaxed.stats" by_reason.deq_close)
s=$(json "$T/strict.stats" by_reason.deq_close)
eq "--strict has one deq_close fewer" "$s" "$((r - 1))"
eq "--strict: one more rejected_threshold" "$(json "$T/strict.stats" by_reason.rejected_threshold)" \
	"$(($(json "$T/relaxed.stats" by_reason.rejected_threshold) + 1))"
eq "report mode" "$(json "$T/strict.json" mode)" strict
eq "relaxed report mode" "$(json "$T/relaxed.json" mode)" relaxed
"$COMBINE_CHECK" json "$T/strict.json" decisions.*.weight >"$T/w"
"$COMBINE_CHECK" json "$T/strict.json" decisions.*.reason >"$T/r"
got=$(paste "$T/w" "$T/r" | awk -F'\t' -v w="$W" '$1 == w { printf "%s ", $2 }')
eq "--strict: prefill $W" "$got" "anchor rejected_threshold "
[ "$(wbin_size "$T/strict.mlpackage")" -gt "$(wbin_size "$T/relaxed.mlpackage")" ] && ok ||
	bad "--strict output not larger than the relaxed one"
expect 0 "verify --strict of the --strict output" "0 failures" -- \
	"$MLDEDUP" verify --strict "$T/strict.mlpackage" infer="$A" prefill="$P"
expect 1 "verify --strict of the relaxed output" "FAIL function \"prefill\", weight \"$W\"" "1 failures" -- \
	"$MLDEDUP" verify --strict "$T/relaxed.mlpackage" infer="$A" prefill="$P"
expect 0 "verify (relaxed) of the relaxed output" "0 failures" -- \
	"$MLDEDUP" verify "$T/relaxed.mlpackage" infer="$A" prefill="$P"
finish
