#!/usr/bin/env bash
# combine_anemll_cmd: `mldedup anemll` takes ANEMLL's combine_models.py flags and writes its
# file names (chunked with and without --lut, monolithic, 4 functions, split-rotate); every
# expected export must exist; the combined metadata is ANEMLL's merge; `combine --anemll`
# fails on a missing export unless --allow-incomplete.
source "$(dirname "$0")/lib.sh"
need_fixtures

pkginfo() { "$COMBINE_CHECK" pkg "$1" 2>/dev/null | awk -F'\t' -v k="$2" '$1 == k { print $2 }'; }
# meta PKG KEY: a metadata value ("<none>" when absent)
meta() { "$COMBINE_CHECK" pkg "$1" 2>/dev/null | awk -F'\t' -v k="$2" '$1 == "meta" && $2 == k { v = $3; f = 1 } END { print f ? v : "<none>" }'; }
S=(--store "$T/s.db")

# ---- the real ANEMLL export, as convert_model.sh calls combine_models.py ---------------------------
A=$F/anemll-ctx256
O=$T/ctx256-out
expect 0 "anemll --lut 6 --chunk 2 (real ANEMLL export)" "left as they are" "qwen25_embeddings.mlpackage" \
	"qwen25_lm_head_lut6.mlpackage" -- "$MLDEDUP" anemll "${S[@]}" --json --lut 6 --chunk 2 --prefix qwen25 --input "$A" --output "$O"
cp "$T/out" "$T/ctx256.json"
eq "ANEMLL's file names" "$(ls "$O" | tr '\n' ' ')" "qwen25_FFN_PF_lut6_chunk_01of02.mlpackage qwen25_FFN_PF_lut6_chunk_02of02.mlpackage "
eq "--json: one document, both outputs" "$(json "$T/ctx256.json" 'outputs.*.output' | tr '\n' ' ')" \
	"$O/qwen25_FFN_PF_lut6_chunk_01of02.mlpackage $O/qwen25_FFN_PF_lut6_chunk_02of02.mlpackage "
json "$T/ctx256.json" 'left_as_is.*' >"$T/left"
grep -qx "$A/qwen25_embeddings.mlpackage" "$T/left" && grep -qx "$A/qwen25_lm_head_lut6.mlpackage" "$T/left" && ok ||
	bad "--json left_as_is lacks the embeddings or the LM head: $(cat "$T/left")"
grep -q "chunk_0[12]of02.mlpackage$" "$T/left" && bad "a combined source listed as left as it is" || ok
for c in 1 2; do
	cc=$(printf %02d $c)
	out=$O/qwen25_FFN_PF_lut6_chunk_${cc}of02.mlpackage
	ffn=$A/qwen25_FFN_lut6_chunk_${cc}of02.mlpackage pf=$A/qwen25_prefill_lut6_chunk_${cc}of02.mlpackage
	eq "chunk $c functions" "$(functions "$out")" "infer prefill"
	eq "chunk $c default" "$(pkginfo "$out" default)" infer
	ac=$(json "$A/expected.json" "groups.$((c - 1)).weight_bin_prediction.anemll_combined")
	sz=$(wbin_size "$out")
	echo "anemll-ctx256 chunk $c: mldedup anemll weight.bin $sz, ANEMLL's own combine $ac"
	[ "$sz" -gt 0 ] && [ "$sz" -le "$ac" ] && ok || bad "chunk $c: weight.bin $sz above ANEMLL's $ac"
	expect 0 "verify chunk $c" "0 failures" -- "$MLDEDUP" verify "$out" infer="$ffn" prefill="$pf"
	# metadata: ANEMLL's merge; no source's entry is lost
	eq "chunk $c description" "$(meta "$out" shortDescription)" "Anemll Model: Multifunction FFN+Prefill"
	eq "chunk $c batch_size (the prefill's)" "$(meta "$out" com.anemll.batch_size)" 64
	eq "chunk $c chunk_no" "$(meta "$out" com.anemll.chunk_no)" "$c"
	for src in "$ffn" "$pf"; do
		"$COMBINE_CHECK" pkg "$src" | awk -F'\t' '$1 == "meta" && $2 ~ /^com\./ { print $2 }' | while read -r k; do
			[ "$(meta "$out" "$k")" != "<none>" ] || echo "$k"
		done >"$T/lost"
		[ -s "$T/lost" ] && bad "chunk $c lost metadata of $(basename "$src"): $(cat "$T/lost")" || ok
	done
done
# a missing chunk fails, naming it; nothing is written
expect 1 "--chunk 3: chunk 3 is missing" "qwen25_FFN_lut6_chunk_03of03.mlpackage" "qwen25_prefill_lut6_chunk_03of03.mlpackage" \
	"nothing written" -- "$MLDEDUP" anemll "${S[@]}" --lut 6 --chunk 3 --prefix qwen25 --input "$A" --output "$T/ctx256-3"
[ ! -e "$T/ctx256-3" ] && ok || bad "--chunk 3 created its output directory"

# monolithic (real ANEMLL export)
M=$F/anemll-mono
expect 0 "anemll --monolithic --lut 6 (real)" -- "$MLDEDUP" anemll "${S[@]}" --monolithic --lut 6 --prefix qwen25 --input "$M" --output "$T/mono"
out=$T/mono/qwen25_monolithic_full_lut6.mlpackage
eq "monolithic name" "$(ls "$T/mono" | tr '\n' ' ')" "qwen25_monolithic_full_lut6.mlpackage "
eq "monolithic functions" "$(functions "$out")" "infer prefill"
ac=$(json "$M/expected.json" "groups.0.weight_bin_prediction.anemll_combined")
sz=$(wbin_size "$out")
echo "anemll-mono: mldedup anemll weight.bin $sz, ANEMLL's own combine $ac"
[ "$sz" -gt 0 ] && [ "$sz" -le "$ac" ] && ok || bad "monolithic: weight.bin $sz above ANEMLL's $ac"
# the monolithic exports describe themselves "Anemll Model Part monolithic ...", without a (part): ANEMLL writes "Combined"
eq "monolithic description" "$(meta "$out" shortDescription)" "Anemll Model: Multifunction Combined"

# ---- the toy fixtures under ANEMLL names: sharing, --skip-anemll-dedup, no --lut ----------------------
C=$F/chunked
expect 0 "anemll --lut 6,4 --chunk 2 --prefix toy" -- "$MLDEDUP" anemll "${S[@]}" --lut 6,4 --chunk 2 --prefix toy --input "$C" --output "$T/toy"
expect 0 "anemll --skip-anemll-dedup" -- "$MLDEDUP" anemll "${S[@]}" --skip-anemll-dedup --lut 6 --chunk 2 --prefix toy --input "$C" --output "$T/toy-std"
for c in 1 2; do
	n=toy_FFN_PF_lut6_chunk_0${c}of02.mlpackage
	g=$(($c - 1))
	eq "expected.json group $g" "$(json "$C/expected.json" "groups.$g.group")" "lut6_chunk_0${c}of02"
	cm=$(json "$C/expected.json" "groups.$g.weight_bin_prediction.correct_min")
	sd=$(json "$C/expected.json" "groups.$g.weight_bin_prediction.standard_blob_dedup")
	within1 "$(wbin_size "$T/toy/$n")" "$cm" && ok || bad "chunk $c: weight.bin $(wbin_size "$T/toy/$n") not within 1% of correct_min $cm"
	within1 "$(wbin_size "$T/toy-std/$n")" "$sd" && ok ||
		bad "--skip-anemll-dedup chunk $c: weight.bin $(wbin_size "$T/toy-std/$n") not within 1% of standard_blob_dedup $sd"
	expect 0 "verify --skip-anemll-dedup chunk $c" "0 failures" "0 within thresholds" -- "$MLDEDUP" verify "$T/toy-std/$n" \
		infer="$C/toy_FFN_lut6_chunk_0${c}of02.mlpackage" prefill="$C/toy_prefill_lut6_chunk_0${c}of02.mlpackage"
done
expect 0 "anemll without --lut: names without _lutN" -- "$MLDEDUP" anemll "${S[@]}" --chunk 2 --prefix toy --input "$F/dense" --output "$T/dense"
eq "no-lut names" "$(ls "$T/dense" | tr '\n' ' ')" "toy_FFN_PF_chunk_01of02.mlpackage toy_FFN_PF_chunk_02of02.mlpackage "
expect 0 "--lut none is no LUT" -- "$MLDEDUP" anemll --no-store -q --lut none --chunk 2 --prefix toy --input "$F/dense" --output "$T/dense2"
eq "--lut none names" "$(ls "$T/dense2" | tr '\n' ' ')" "toy_FFN_PF_chunk_01of02.mlpackage toy_FFN_PF_chunk_02of02.mlpackage "

# ---- Gemma: 4 functions, split-rotate, monolithic rotate --------------------------------------------
G=$T/gemma
mkdir -p "$G"
X=$F/multictx
cp -r "$X/ctx512/toy_FFN_lut6_chunk_01of01.mlpackage" "$G/gemma3_FFN_lut6_chunk_01of01.mlpackage"
cp -r "$X/ctx1024/toy_FFN_lut6_chunk_01of01.mlpackage" "$G/gemma3_FFN_rotate_lut6_chunk_01of01.mlpackage"
cp -r "$X/ctx512/toy_prefill_lut6_chunk_01of01.mlpackage" "$G/gemma3_prefill_lut6_chunk_01of01.mlpackage"
cp -r "$X/ctx1024/toy_prefill_lut6_chunk_01of01.mlpackage" "$G/gemma3_prefill_rotate_lut6_chunk_01of01.mlpackage"
for flag in --gemma3 --rotate; do
	expect 0 "anemll $flag" -- "$MLDEDUP" anemll "${S[@]}" $flag --lut 6 --chunk 1 --prefix gemma3 --input "$G" --output "$T/g$flag"
	eq "$flag: one output" "$(ls "$T/g$flag" | tr '\n' ' ')" "gemma3_FFN_PF_lut6_chunk_01of01.mlpackage "
	eq "$flag: 4 functions" "$(functions "$T/g$flag/gemma3_FFN_PF_lut6_chunk_01of01.mlpackage")" "infer infer_rotate prefill prefill_rotate"
done
expect 0 "anemll --split-rotate" -- "$MLDEDUP" anemll "${S[@]}" --split-rotate --lut 6 --chunk 1 --prefix gemma3 --input "$G" --output "$T/gs"
eq "--split-rotate: two outputs" "$(ls "$T/gs" | tr '\n' ' ')" "gemma3_FFN_PF_lut6_chunk_01of01.mlpackage gemma3_FFN_PF_lut6_chunk_01of01_rot.mlpackage "
eq "--split-rotate: infer + prefill" "$(functions "$T/gs/gemma3_FFN_PF_lut6_chunk_01of01.mlpackage")" "infer prefill"
eq "--split-rotate: the rotates" "$(functions "$T/gs/gemma3_FFN_PF_lut6_chunk_01of01_rot.mlpackage")" "infer_rotate prefill_rotate"
eq "--split-rotate: _rot default" "$(pkginfo "$T/gs/gemma3_FFN_PF_lut6_chunk_01of01_rot.mlpackage" default)" infer_rotate
# in place: the output goes to the input (default), which is the current directory (default)
expect 0 "anemll in the current directory (--input/--output defaults)" -- \
	bash -c 'cd "$1" && shift && "$@"' _ "$G" "$MLDEDUP" anemll --no-store -q --lut 6 --chunk 1 --prefix gemma3
[ -d "$G/gemma3_FFN_PF_lut6_chunk_01of01.mlpackage" ] && ok || bad "no output in the current directory"
for k in "" _rotate _prefill _prefill_rotate; do
	cp -r "$C/toy_$([ -z "${k##_prefill*}" ] && [ -n "$k" ] && echo prefill || echo FFN)_lut6_chunk_01of02.mlpackage" \
		"$G/gemma3_monolithic${k}_lut6.mlpackage"
done
expect 0 "anemll --monolithic --rotate" -- "$MLDEDUP" anemll "${S[@]}" --monolithic --rotate --lut 6 --prefix gemma3 --input "$G" --output "$T/gm"
eq "monolithic rotate: 4 functions" "$(functions "$T/gm/gemma3_monolithic_full_lut6.mlpackage")" "infer infer_rotate prefill prefill_rotate"
rm -rf "$G/gemma3_monolithic_prefill_rotate_lut6.mlpackage"
expect 1 "monolithic --rotate without its prefill_rotate" "gemma3_monolithic_prefill_rotate_lut6.mlpackage" -- \
	"$MLDEDUP" anemll --no-store --monolithic --rotate --lut 6 --prefix gemma3 --input "$G" --output "$T/gm2"
expect 1 "--rotate without the rotate exports of chunk 1" "gemma3_FFN_rotate_lut4_chunk_01of01.mlpackage" -- \
	"$MLDEDUP" anemll --no-store --rotate --lut 4 --chunk 1 --prefix gemma3 --input "$G" --output "$T/gm3"

# ---- missing FFN, missing prefill ------------------------------------------------------------------------
B=$T/broken
mkdir -p "$B"
cp -r "$C/toy_prefill_lut6_chunk_01of02.mlpackage" "$C/toy_FFN_lut6_chunk_02of02.mlpackage" "$B"/
expect 1 "missing FFN and prefill are named" "missing: $B/toy_FFN_lut6_chunk_01of02.mlpackage" \
	"missing: $B/toy_prefill_lut6_chunk_02of02.mlpackage" "2 expected exports are missing" -- \
	"$MLDEDUP" anemll --no-store --lut 6 --chunk 2 --prefix toy --input "$B"
eq "nothing written" "$(ls "$B" | tr '\n' ' ')" "toy_FFN_lut6_chunk_02of02.mlpackage toy_prefill_lut6_chunk_01of02.mlpackage "
expect 1 "combine --anemll: missing exports fail" "missing: $B/toy_FFN_lut6_chunk_01of02.mlpackage" \
	"missing: $B/toy_prefill_lut6_chunk_02of02.mlpackage" "--allow-incomplete" -- "$MLDEDUP" combine --no-store --anemll "$B"
eq "combine --anemll: nothing written" "$(ls "$B" | tr '\n' ' ')" "toy_FFN_lut6_chunk_02of02.mlpackage toy_prefill_lut6_chunk_01of02.mlpackage "
cp -r "$C/toy_FFN_lut6_chunk_01of02.mlpackage" "$B"/
expect 1 "combine --anemll: a missing prefill fails" "missing: $B/toy_prefill_lut6_chunk_02of02.mlpackage" -- \
	"$MLDEDUP" combine --no-store --anemll "$B"
expect 0 "combine --anemll --allow-incomplete" "warning: missing: $B/toy_prefill_lut6_chunk_02of02.mlpackage" \
	"only one source found" -- "$MLDEDUP" combine --no-store --allow-incomplete --anemll "$B" -o "$T/inc"
eq "--allow-incomplete: the complete chunk" "$(ls "$T/inc" | tr '\n' ' ')" "toy_FFN_PF_lut6_chunk_01of02.mlpackage "
expect 2 "--allow-incomplete without --anemll" "--allow-incomplete goes with --anemll" -- \
	"$MLDEDUP" combine --allow-incomplete -o "$T/x.mlpackage" a="$C/toy_FFN_lut6_chunk_01of02.mlpackage"
# combine --anemll on the real export: ANEMLL's metadata, the rest left as it is
R=$T/real
mkdir -p "$R"
cp -r "$A"/*.mlpackage "$R"/
expect 0 "combine --anemll (real ANEMLL export)" "left as they are" "$R/qwen25_embeddings.mlpackage" "$R/qwen25_lm_head_lut6.mlpackage" -- \
	"$MLDEDUP" combine "${S[@]}" --anemll "$R"
eq "combine --anemll: ANEMLL's description" "$(meta "$R/qwen25_FFN_PF_lut6_chunk_02of02.mlpackage" shortDescription)" \
	"Anemll Model: Multifunction FFN+Prefill"
eq "combine --anemll: the prefill's batch_size" "$(meta "$R/qwen25_FFN_PF_lut6_chunk_02of02.mlpackage" com.anemll.batch_size)" 64

# ---- usage ---------------------------------------------------------------------------------------------------
expect 2 "no --chunk" "--chunk is required" -- "$MLDEDUP" anemll --lut 6 --input "$C"
expect 2 "--lut x" "--lut x" -- "$MLDEDUP" anemll --lut x --chunk 2 --input "$C"
expect 2 "--chunk 0" "--chunk 0" -- "$MLDEDUP" anemll --chunk 0 --input "$C"
expect 2 "a positional argument" "unexpected argument" -- "$MLDEDUP" anemll --chunk 2 --input "$C" extra
expect 2 "a prefix with a slash" "prefix" -- "$MLDEDUP" anemll --chunk 2 --prefix a/b --input "$C"
expect 0 "--help lists ANEMLL's flags" -- "$MLDEDUP" anemll --help
for f in --lut --chunk --monolithic --gemma3 --rotate --split-rotate --input --output --prefix --anemll-dedup --skip-anemll-dedup; do
	grep -q -- "$f" "$T/out" && ok || bad "anemll --help lacks $f"
done
finish
