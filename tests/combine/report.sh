#!/usr/bin/env bash
# combine_report: --report FILE.csv (a header, one row per weight) and FILE.json (its
# summary equals the --json statistics, its decisions tally to by_reason, the CSV has the
# same rows); --dry-run writes the report and no package; the iOS16 sets come out as a
# spec 9 package in the iOS18 form (LUT indices typed uint6/uint4 instead of packed
# uint8) and verify finds every weight exact or within the thresholds.
source "$(dirname "$0")/lib.sh"
need_fixtures

C=$F/chunked
SRC=(infer="$C/toy_FFN_lut6_chunk_02of02.mlpackage" prefill="$C/toy_prefill_lut6_chunk_02of02.mlpackage")
HEADER="function,weight,reason,shared_with_function,shared_with_weight,compared_function,compared_weight,cos,max_abs,mean_abs,decision_reused,encoded_bytes,chain"

# ---- CSV and JSON reports of the same combine ------------------------------------------------
expect 0 "combine --report x.csv" -- "$MLDEDUP" combine -q --store "$T/s.db" --json --report "$T/x.csv" -o "$T/a.mlpackage" "${SRC[@]}"
cp "$T/out" "$T/csv.stats"
weights=$(json "$T/csv.stats" weights)
[ "$weights" -gt 0 ] 2>/dev/null && ok || bad "--json weights: $weights"
eq "CSV header" "$(head -1 "$T/x.csv")" "$HEADER"
eq "CSV rows" "$(($(wc -l <"$T/x.csv") - 1))" "$weights"
eq "CSV rows with 13 fields" "$(tail -n +2 "$T/x.csv" | awk -F, 'NF == 13' | wc -l)" "$weights"
eq "CSV: rows per function" "$(tail -n +2 "$T/x.csv" | cut -d, -f1 | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')" \
	"infer=$("$MLDEDUP" ls --no-header --no-digest "$C/toy_FFN_lut6_chunk_02of02.mlpackage" | wc -l) prefill=$("$MLDEDUP" ls --no-header --no-digest "$C/toy_prefill_lut6_chunk_02of02.mlpackage" | wc -l) "
eq "CSV: deq_close rows" "$(cut -d, -f3 "$T/x.csv" | grep -cx deq_close)" "$(json "$T/csv.stats" by_reason.deq_close)"
eq "CSV: identical rows" "$(cut -d, -f3 "$T/x.csv" | grep -cx identical)" "$(json "$T/csv.stats" by_reason.identical)"
# a compared row carries its metrics; an anchor row none
eq "CSV: deq_close rows with cos/max/mean" \
	"$(awk -F, '$3 == "deq_close" && $8 != "" && $9 != "" && $10 != ""' "$T/x.csv" | wc -l)" "$(json "$T/csv.stats" by_reason.deq_close)"
eq "CSV: anchor rows without metrics" "$(awk -F, '$3 == "anchor" && $8 == ""' "$T/x.csv" | wc -l)" "$(json "$T/csv.stats" by_reason.anchor)"

expect 0 "combine --report x.json (same store: decisions reused)" -- \
	"$MLDEDUP" combine -q --store "$T/s.db" --json --report "$T/x.json" -o "$T/a.mlpackage" "${SRC[@]}"
cp "$T/out" "$T/json.stats"
expect 0 "the JSON report matches the --json stats and the CSV" -- "$COMBINE_CHECK" report "$T/x.json" "$T/json.stats" "$T/x.csv"
eq "report output" "$(json "$T/x.json" output)" "$T/a.mlpackage"
eq "report mode" "$(json "$T/x.json" mode)" relaxed
eq "report dry_run" "$(json "$T/x.json" dry_run)" false
eq "report default_function" "$(json "$T/x.json" default_function)" infer
eq "report functions" "$(json "$T/x.json" 'functions.*.name' | tr '\n' ' ')" "infer prefill "
eq "report source functions" "$(json "$T/x.json" 'functions.*.source_function' | tr '\n' ' ')" "main main "
eq "report: decisions reused" "$(json "$T/x.json" 'decisions.*.metrics.decision_reused' | sort -u | tr '\n' ' ')" "true "
# a report of a fresh run (no store) agrees with its own --json too, and says nothing is reused
expect 0 "combine --no-store --report" -- "$MLDEDUP" combine -q --no-store --json --report "$T/y.json" -o "$T/b.mlpackage" "${SRC[@]}"
cp "$T/out" "$T/y.stats"
expect 0 "fresh report matches its --json stats" -- "$COMBINE_CHECK" report "$T/y.json" "$T/y.stats"
eq "fresh: decisions reused" "$(json "$T/y.json" summary.decisions_reused)" 0
eq "fresh: same by_reason as with the store" "$(json "$T/y.json" summary.by_reason)" "$(json "$T/x.json" summary.by_reason)"
# the checker itself fails on a mismatch
sed 's/"bytes_after": [0-9]*/"bytes_after": 1/' "$T/json.stats" >"$T/wrong.stats"
expect 1 "report check catches a wrong summary" "summary.bytes_after" -- "$COMBINE_CHECK" report "$T/x.json" "$T/wrong.stats"
# --default is what the report and the package say
expect 0 "combine --default prefill" -- "$MLDEDUP" combine -q --no-store --default prefill --report "$T/d.json" -o "$T/d.mlpackage" "${SRC[@]}"
eq "--default: report" "$(json "$T/d.json" default_function)" prefill
eq "--default: package" "$("$COMBINE_CHECK" pkg "$T/d.mlpackage" | awk -F'\t' '$1 == "default" { print $2 }')" prefill

# ---- --dry-run: the report, no package ----------------------------------------------------------
expect 0 "--dry-run --report" "would write" -- "$MLDEDUP" combine --no-store --dry-run --json --report "$T/dry.json" -o "$T/dry.mlpackage" "${SRC[@]}"
cp "$T/out" "$T/dry.stats"
[ ! -e "$T/dry.mlpackage" ] && ok || bad "--dry-run wrote a package"
ls -A "$T" | grep -q '^\.dry' && bad "--dry-run left temp entries" || ok
[ -s "$T/dry.json" ] && ok || bad "--dry-run wrote no report"
eq "dry-run report dry_run" "$(json "$T/dry.json" dry_run)" true
expect 0 "dry-run report matches its --json stats" -- "$COMBINE_CHECK" report "$T/dry.json" "$T/dry.stats"
eq "dry-run bytes_after = the real run's weight.bin" "$(json "$T/dry.json" summary.bytes_after)" "$(wbin_size "$T/a.mlpackage")"
eq "dry-run decisions = the real run's" "$(json "$T/dry.json" summary.by_reason)" "$(json "$T/x.json" summary.by_reason)"
# over an existing output: untouched
h=$(pkghash "$T/a.mlpackage")
expect 0 "--dry-run over an existing output" -- "$MLDEDUP" combine -q --no-store --dry-run --report "$T/dry2.csv" -o "$T/a.mlpackage" "${SRC[@]}"
eq "--dry-run left the existing output alone" "$(pkghash "$T/a.mlpackage")" "$h"
eq "--dry-run CSV rows" "$(($(wc -l <"$T/dry2.csv") - 1))" "$weights"

# ---- iOS16 / iOS17 LUT packages: rewritten into the iOS18 form ---------------------------------
I=$F/ios16
for v in ios16_lut6:7:uint6 ios17_lut4:8:uint4; do
	IFS=: read -r name spec nbits <<<"$v"
	a=$I/toy_FFN_${name}_chunk_01of02.mlpackage
	p=$I/toy_prefill_${name}_chunk_01of02.mlpackage
	out=$T/$name.mlpackage
	eq "$name source spec version" "$("$COMBINE_CHECK" pkg "$a" | awk -F'\t' '$1 == "spec" { print $2 }')" "$spec"
	expect 0 "combine $name" -- "$MLDEDUP" combine -q --no-store --report "$T/$name.json" -o "$out" infer="$a" prefill="$p"
	eq "$name: combined spec version" "$("$COMBINE_CHECK" pkg "$out" | awk -F'\t' '$1 == "spec" { print $2 }')" 9
	"$MLDEDUP" ls --json "$a" >"$T/src.json" && "$COMBINE_CHECK" ls-blobs "$T/src.json" >"$T/src.blobs" || bad "$name: ls --json of the source"
	"$MLDEDUP" ls --json "$out" >"$T/out.json" && "$COMBINE_CHECK" ls-blobs "$T/out.json" >"$T/out.blobs" || bad "$name: ls --json of the output"
	# LUT weights: the source's indices are packed uint8, the output's uintN; the LUT stays fp16
	nlut=$(awk -F'\t' '$3 == "constexpr_lut_to_dense" && $4 == "indices"' "$T/src.blobs" | wc -l)
	[ "$nlut" -gt 0 ] && ok || bad "$name: no LUT weights in the source"
	eq "$name: source indices dtypes" "$(awk -F'\t' '$3 == "constexpr_lut_to_dense" && $4 == "indices" { print $5 }' "$T/src.blobs" | sort -u)" uint8
	eq "$name: output indices dtypes" "$(awk -F'\t' '$3 == "constexpr_lut_to_dense" && $4 == "indices" { print $5 }' "$T/out.blobs" | sort -u)" "$nbits"
	eq "$name: output LUT dtypes" "$(awk -F'\t' '$3 == "constexpr_lut_to_dense" && $4 == "lut" { print $5 }' "$T/out.blobs" | sort -u)" fp16
	eq "$name: output LUT weights" "$(awk -F'\t' '$3 == "constexpr_lut_to_dense" && $4 == "indices"' "$T/out.blobs" | wc -l)" "$((2 * nlut))"
	# the indices bytes are the same (the packing is already LSB-first), only retyped
	eq "$name: infer indices sizes unchanged" \
		"$(awk -F'\t' '$1 == "infer" && $4 == "indices" { print $2, $6 }' "$T/out.blobs" | sha256)" \
		"$(awk -F'\t' '$4 == "indices" { print $2, $6 }' "$T/src.blobs" | sha256)"
	expect 0 "$name: verify against the sources" "0 failures" -- "$MLDEDUP" verify --json "$out" infer="$a" prefill="$p"
	w=$(json "$T/out" weights)
	eq "$name: every weight exact or close" "$(($(json "$T/out" exact) + $(json "$T/out" close)))" "$w"
	[ "$(json "$T/out" close)" -gt 0 ] && ok || bad "$name: no weight within thresholds (near copies were not shared?)"
	eq "$name: verify failures" "$(json "$T/out" failures)" 0
	echo "$name: spec $spec -> 9, $nlut LUT weights per function as $nbits; verify: $(json "$T/out" exact) exact, $(json "$T/out" close) close of $w"
done
finish
