#!/usr/bin/env bash
# cli_json_paths: every --json document is valid JSON with "format": 1 even when the
# paths in it hold a double quote, a backslash, a newline, a tab and an escape
# character; and the paths come back exactly as given.
source "$(dirname "$0")/lib.sh"

D=$T/$'we"ird\\dir\nwith\tcontrol\e'
mkdir -p "$D" || { echo "FAIL: cannot make $D"; exit 1; }
A=$D/toy_FFN_chunk_01of01.mlpackage P=$D/toy_prefill_chunk_01of01.mlpackage
"$MLDTEST" mkpkg "$A" --seed 1 && "$MLDTEST" mkpkg "$P" --seed 1 || { echo "FAIL: mkpkg"; exit 1; }
S=$D/store.db O=$D/out.mlpackage

# parses FILE KEY WANT: FILE is one JSON document with format 1 and KEY == WANT (KEY may be "")
parses() {
	local what=$1 key=$2 want=$3
	eq "$what: format" "$("$MLDTEST" json format "$T/out" 2>&1)" 1
	[ -z "$key" ] || eq "$what: $key comes back as given" "$("$MLDTEST" json "$key" "$T/out" 2>&1)" "$want"
}

expect 0 "ls --json" -- "$MLDEDUP" ls --json "$A"
parses "ls --json" package "$A"
expect 0 "ls --forms --json" -- "$MLDEDUP" ls --forms --json "$A"
parses "ls --forms --json" package "$A"
expect 0 "index --json" -- "$MLDEDUP" index --json --store "$S" "$A" "$P"
parses "index --json" store "$S"
expect 0 "combine --json" -- "$MLDEDUP" combine -q --json --store "$S" -o "$O" infer="$A" prefill="$P"
parses "combine --json" output "$O"
expect 0 "combine --report" -- "$MLDEDUP" combine -q --store "$S" --report "$D/r.json" -o "$O" infer="$A" prefill="$P"
cp "$D/r.json" "$T/out" && eq "report: output" "$("$MLDTEST" json output "$T/out")" "$O"
expect 0 "combine --anemll --json" -- "$MLDEDUP" combine -q --json --store "$S" --anemll "$D"
parses "combine --anemll --json" "" ""
expect 0 "verify --json" -- "$MLDEDUP" verify --json "$O" infer="$A" prefill="$P"
parses "verify --json" package "$O"
for q in stats packages functions dupes fsck "gc --dry-run" sql; do
	expect 0 "$q --json" -- "$MLDEDUP" $q --json --store "$S"
	parses "$q --json" "" ""
done
expect 0 "stats --json: the store path" -- "$MLDEDUP" stats --json --store "$S"
eq "stats --json: store" "$("$MLDTEST" json store "$T/out")" "$(realpath "$S")"
expect 0 "show --json" -- "$MLDEDUP" show --json --store "$S" "$A:main:w_dense"
parses "show --json" "" ""
expect 0 "explain --json" -- "$MLDEDUP" explain --json --store "$S" "$O" prefill w_dense
parses "explain --json" "" ""
finish
