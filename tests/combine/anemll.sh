#!/usr/bin/env bash
# combine_anemll: `combine --anemll DIR` finds ANEMLL exports by name and writes the
# combined packages ANEMLL's own scripts would name:
#   chunks      {p}_FFN[_rotate]{_lutN}_chunk_NNofMM + {p}_prefill[_rotate]... ->
#               {p}_FFN_PF{_lutN}_chunk_NNofMM (infer, infer_rotate, prefill, prefill_rotate)
#   monolithic  {p}_monolithic{_lutN} + {p}_monolithic_prefill{_lutN} -> {p}_monolithic_full{_lutN}
#   contexts    ctxN/ folders -> {p}_FFN_PF_statex_chunk_NNofMM with infer_ctxN / prefill_ctxN
#               and the aliases infer / prefill (of the largest context)
source "$(dirname "$0")/lib.sh"
need_fixtures

# pkginfo PKG KEY: "spec" or "default" from combine_check pkg
pkginfo() { "$COMBINE_CHECK" pkg "$1" 2>/dev/null | awk -F'\t' -v k="$2" '$1 == k { print $2 }'; }

# ---- the chunked lut6 exports, output into DIR itself ----------------------------------
D=$T/chunked
mkdir -p "$D"
cp -r "$F"/chunked/*_lut6_chunk_*.mlpackage "$D"/
expect 0 "combine --anemll (chunked lut6)" -- "$MLDEDUP" combine -q --store "$T/s.db" --json --report "$T/chunked.json" --anemll "$D"
eq "--json: one document, one entry per output" "$(json "$T/out" 'outputs.#')" 2
eq "--json: format" "$(json "$T/out" format)" 1
for c in 01 02; do
	out=$D/toy_FFN_PF_lut6_chunk_${c}of02.mlpackage
	[ -d "$out" ] && ok || { bad "no $(basename "$out")"; continue; }
	eq "chunk $c functions" "$(functions "$out")" "infer prefill"
	eq "chunk $c default function" "$(pkginfo "$out" default)" infer
	expect 0 "verify chunk $c" "0 failures" -- "$MLDEDUP" verify "$out" \
		infer="$D/toy_FFN_lut6_chunk_${c}of02.mlpackage" prefill="$D/toy_prefill_lut6_chunk_${c}of02.mlpackage"
	g=$(($((10#$c)) - 1))
	cm=$(json "$F/chunked/expected.json" "groups.$g.weight_bin_prediction.correct_min")
	eq "expected.json group $g is lut6 chunk $c" "$(json "$F/chunked/expected.json" "groups.$g.group")" "lut6_chunk_${c}of02"
	within1 "$(wbin_size "$out")" "$cm" && ok || bad "chunk $c: weight.bin $(wbin_size "$out") not within 1% of $cm"
	# several outputs, one --report: one report per output, none overwritten
	r=$T/chunked.toy_FFN_PF_lut6_chunk_${c}of02.json
	eq "report of chunk $c names its output" "$(json "$r" output)" "$out"
	eq "report of chunk $c functions" "$(json "$r" 'functions.*.name' | tr '\n' ' ')" "infer prefill "
done
[ ! -e "$T/chunked.json" ] && ok || bad "--report with two outputs also wrote chunked.json"
ls "$D" | LC_ALL=C sort >"$T/listing1"
# again, in place: the outputs are not taken for exports; same bytes
h1=$(pkghash "$D/toy_FFN_PF_lut6_chunk_01of02.mlpackage")
expect 0 "combine --anemll again (its outputs now in DIR)" -- "$MLDEDUP" combine -q --store "$T/s.db" --json --anemll "$D"
eq "second run: outputs" "$(json "$T/out" 'outputs.#')" 2
ls "$D" | LC_ALL=C sort >"$T/listing2"
cmp -s "$T/listing1" "$T/listing2" && ok || bad "second --anemll run changed the directory listing: $(diff "$T/listing1" "$T/listing2")"
eq "second run: same chunk 1 output" "$(pkghash "$D/toy_FFN_PF_lut6_chunk_01of02.mlpackage")" "$h1"
eq "second run: chunk 1 functions" "$(functions "$D/toy_FFN_PF_lut6_chunk_01of02.mlpackage")" "infer prefill"

# ---- multictx: per-context folders, into a new output directory -----------------------------
MO=$T/multictx-out # does not exist yet: created
expect 0 "combine --anemll multictx -o NEWDIR" -- "$MLDEDUP" combine -q --store "$T/s.db" --report "$T/mctx.json" \
	--anemll "$F/multictx" -o "$MO"
out=$MO/toy_FFN_PF_statex_chunk_01of01.mlpackage
[ -d "$out" ] && ok || bad "no toy_FFN_PF_statex_chunk_01of01.mlpackage in $MO: $(ls "$MO" 2>&1)"
eq "only the one output" "$(ls "$MO" 2>/dev/null | tr '\n' ' ')" "toy_FFN_PF_statex_chunk_01of01.mlpackage "
want="infer"
for ctx in 1024 2048 3072 4096 512; do want+=" infer_ctx$ctx"; done
want+=" prefill"
for ctx in 1024 2048 3072 4096 512; do want+=" prefill_ctx$ctx"; done
eq "multictx functions" "$(functions "$out")" "$want"
eq "multictx: 12 functions" "$("$COMBINE_CHECK" pkg "$out" | grep -c '^function')" 12
eq "multictx default function" "$(pkginfo "$out" default)" infer_ctx512
eq "report default_function" "$(json "$T/mctx.json" default_function)" infer_ctx512
eq "report: first function (the anchor)" "$(json "$T/mctx.json" functions.0.name)" infer_ctx512
json "$T/mctx.json" 'functions.*.name' >"$T/fn"
json "$T/mctx.json" 'functions.*.package' >"$T/pk"
json "$T/mctx.json" 'functions.*.alias' >"$T/al"
paste "$T/fn" "$T/pk" "$T/al" >"$T/fns"
alias_of() { awk -F'\t' -v f="$1" '$1 == f { n = split($2, p, "/"); print p[n - 1] "/" p[n] "\t" $3 }' "$T/fns"; }
eq "alias infer" "$(alias_of infer)" "ctx4096/toy_FFN_lut6_chunk_01of01.mlpackage	true"
eq "alias prefill" "$(alias_of prefill)" "ctx4096/toy_prefill_lut6_chunk_01of01.mlpackage	true"
eq "infer_ctx2048" "$(alias_of infer_ctx2048)" "ctx2048/toy_FFN_lut6_chunk_01of01.mlpackage	false"
eq "aliases in the report" "$(grep -c 'true$' "$T/fns")" 2
cm=$(json "$F/multictx/expected.json" groups.0.weight_bin_prediction.correct_min)
sz=$(wbin_size "$out")
echo "multictx --anemll: weight.bin $sz, correct_min $cm"
within1 "$sz" "$cm" && ok || bad "multictx: weight.bin $sz not within 1% of correct_min $cm"
V=()
for ctx in 512 1024 2048 3072 4096; do
	V+=("infer_ctx$ctx=$F/multictx/ctx$ctx/toy_FFN_lut6_chunk_01of01.mlpackage"
		"prefill_ctx$ctx=$F/multictx/ctx$ctx/toy_prefill_lut6_chunk_01of01.mlpackage")
done
V+=("infer=$F/multictx/ctx4096/toy_FFN_lut6_chunk_01of01.mlpackage" "prefill=$F/multictx/ctx4096/toy_prefill_lut6_chunk_01of01.mlpackage")
expect 0 "verify multictx (12 functions)" "12 functions" "0 failures" -- "$MLDEDUP" verify "$out" "${V[@]}"
# the alias shares every blob of its original (ls: same encoded bytes, same digests)
"$MLDEDUP" ls --no-header "$out" >"$T/ls"
a=$(awk -F'\t' '$1 == "infer" { print $2, $7 }' "$T/ls" | sha256)
b=$(awk -F'\t' '$1 == "infer_ctx4096" { print $2, $7 }' "$T/ls" | sha256)
eq "alias infer has the weights of infer_ctx4096" "$a" "$b"

# ---- Gemma-style names: rotate variants and monolithic models --------------------------------
G=$T/gemma
mkdir -p "$G"
M=$F/multictx
cp -r "$M/ctx512/toy_FFN_lut6_chunk_01of01.mlpackage" "$G/gemma3_FFN_lut6_chunk_01of01.mlpackage"
cp -r "$M/ctx1024/toy_FFN_lut6_chunk_01of01.mlpackage" "$G/gemma3_FFN_rotate_lut6_chunk_01of01.mlpackage"
cp -r "$M/ctx512/toy_prefill_lut6_chunk_01of01.mlpackage" "$G/gemma3_prefill_lut6_chunk_01of01.mlpackage"
cp -r "$M/ctx1024/toy_prefill_lut6_chunk_01of01.mlpackage" "$G/gemma3_prefill_rotate_lut6_chunk_01of01.mlpackage"
cp -r "$F/chunked/toy_FFN_lut6_chunk_01of02.mlpackage" "$G/gemma3_monolithic_lut6.mlpackage"
cp -r "$F/chunked/toy_prefill_lut6_chunk_01of02.mlpackage" "$G/gemma3_monolithic_prefill_lut6.mlpackage"
mkdir -p "$G/not_an_export.mlpackage" # ignored
expect 0 "combine --anemll (Gemma names)" -- "$MLDEDUP" combine -q --no-store --json --anemll "$G" -o "$T/gemma-out"
eq "Gemma: outputs" "$(ls "$T/gemma-out" | tr '\n' ' ')" "gemma3_FFN_PF_lut6_chunk_01of01.mlpackage gemma3_monolithic_full_lut6.mlpackage "
out=$T/gemma-out/gemma3_FFN_PF_lut6_chunk_01of01.mlpackage
eq "Gemma chunk functions" "$(functions "$out")" "infer infer_rotate prefill prefill_rotate"
eq "Gemma chunk default" "$(pkginfo "$out" default)" infer
expect 0 "verify the Gemma chunk" "4 functions" "0 failures" -- "$MLDEDUP" verify "$out" \
	infer="$G/gemma3_FFN_lut6_chunk_01of01.mlpackage" infer_rotate="$G/gemma3_FFN_rotate_lut6_chunk_01of01.mlpackage" \
	prefill="$G/gemma3_prefill_lut6_chunk_01of01.mlpackage" prefill_rotate="$G/gemma3_prefill_rotate_lut6_chunk_01of01.mlpackage"
out=$T/gemma-out/gemma3_monolithic_full_lut6.mlpackage
eq "Gemma monolithic functions" "$(functions "$out")" "infer prefill"
expect 0 "verify the Gemma monolithic" "0 failures" -- "$MLDEDUP" verify "$out" \
	infer="$G/gemma3_monolithic_lut6.mlpackage" prefill="$G/gemma3_monolithic_prefill_lut6.mlpackage"

# ---- nothing to do, bad use -------------------------------------------------------------------
mkdir -p "$T/empty"
expect 1 "--anemll on a directory without exports" "no ANEMLL exports found" -- "$MLDEDUP" combine -q --no-store --anemll "$T/empty"
expect 1 "--anemll on a missing directory" "$T/missing" -- "$MLDEDUP" combine -q --no-store --anemll "$T/missing"
expect 2 "--anemll with NAME=PKG sources" "--anemll takes no NAME=PKG sources" -- \
	"$MLDEDUP" combine -q --no-store --anemll "$D" infer="$D/toy_FFN_lut6_chunk_01of02.mlpackage"
finish
