#!/usr/bin/env bash
# combine_errors: usage errors exit 2 and failures exit 1, each with a message that
# names the problem; a failed combine creates no output (nor leaves temp entries) and
# leaves a previous output untouched; --no-preflight lets preflight failures through.
source "$(dirname "$0")/lib.sh"
need_fixtures

C=$F/chunked
A=$C/toy_FFN_lut6_chunk_01of02.mlpackage
P=$C/toy_prefill_lut6_chunk_01of02.mlpackage
P4=$C/toy_prefill_lut4_chunk_01of02.mlpackage
M512=$F/multictx/ctx512/toy_FFN_lut6_chunk_01of01.mlpackage
MP1024=$F/multictx/ctx1024/toy_prefill_lut6_chunk_01of01.mlpackage

# A previous output that every failing run below targets too.
PREV=$T/prev.mlpackage
"$MLDEDUP" combine -q --no-store -o "$PREV" infer="$A" prefill="$P" || bad "making the previous output failed"
HPREV=$(pkghash "$PREV")
# its entries, and each file's checksum and size (portable: no find -printf); a file or
# directory written since shows up as newer than prev.stamp
listing() { { find "$1" -print; find "$1" -type f -exec cksum {} +; } | LC_ALL=C sort; }
listing "$PREV" >"$T/prev.listing"
touch "$T/prev.stamp"

# fails CODE DESCRIPTION PATTERN... -- COMBINE-ARGS...: `combine -o NEW ...` and
# `combine -o PREV ...` both exit CODE with the patterns on stderr; NEW is not created,
# PREV is unchanged, no temp entries are left beside either.
N=0
fails() {
	local code=$1 what=$2
	shift 2
	local pats=()
	while [ "$1" != "--" ]; do
		pats+=("$1")
		shift
	done
	shift
	N=$((N + 1))
	local new=$T/new$N.mlpackage
	expect "$code" "$what (new output)" "${pats[@]}" -- "$MLDEDUP" combine -q --no-store -o "$new" "$@"
	[ ! -e "$new" ] && ok || bad "$what: created $new"
	expect "$code" "$what (over a previous output)" "${pats[@]}" -- "$MLDEDUP" combine -q --no-store -o "$PREV" "$@"
	eq "$what: previous output hash" "$(pkghash "$PREV")" "$HPREV"
	listing "$PREV" | cmp -s - "$T/prev.listing" && [ -z "$(find "$PREV" -newer "$T/prev.stamp")" ] && ok ||
		bad "$what: the previous output's files changed"
	local left
	left=$(ls -A "$T" | grep -E '\.mldtmp-' || true)
	eq "$what: temp entries left" "$left" ""
}

# ---- usage errors: exit 2 -----------------------------------------------------------------
expect 2 "no -o" "-o OUT.mlpackage is required" -- "$MLDEDUP" combine -q --no-store infer="$A" prefill="$P"
expect 2 "no sources" "no sources given" -- "$MLDEDUP" combine -q --no-store -o "$T/x.mlpackage"
expect 2 "unknown option" "unknown option" -- "$MLDEDUP" combine -q --no-store --bogus -o "$T/x.mlpackage" infer="$A"
expect 2 "--report without its argument" "needs an argument" -- "$MLDEDUP" combine -q --no-store -o "$T/x.mlpackage" --report
fails 2 "source without =" 'source "infer'"$A"'" is not NAME=PKG[:FUNC]' -- infer"$A" prefill="$P"
fails 2 "source with an empty name" 'is not NAME=PKG[:FUNC]' -- ="$A" prefill="$P"
fails 2 "duplicate function name" 'function name "infer" is given twice' -- infer="$A" infer="$P"
fails 2 "function name 1abc" 'function name "1abc" is not a valid MIL identifier' -- 1abc="$A" prefill="$P"
fails 2 "function name a-b" 'function name "a-b" is not a valid MIL identifier' -- a-b="$A" prefill="$P"
fails 2 "--default naming no function" "--default decode is not one of the function names" -- --default decode infer="$A" prefill="$P"
fails 2 "--report with another extension" "the report must end in .json or .csv" -- --report "$T/r.txt" infer="$A" prefill="$P"
[ ! -e "$T/r.txt" ] && ok || bad "a report with a bad extension was written"
expect 2 "output not ending in .mlpackage" "must end in .mlpackage" -- "$MLDEDUP" combine -q --no-store -o "$T/out.bin" infer="$A" prefill="$P"
[ ! -e "$T/out.bin" ] && ok || bad "-o out.bin was written"

# ---- failures: exit 1 ------------------------------------------------------------------------
fails 1 "missing package" "$T/nonexistent.mlpackage" "No such file or directory" -- infer="$A" prefill="$T/nonexistent.mlpackage"
fails 1 "missing function in a package" 'no function "decode"' "functions: main" -- infer="$A" prefill="$P:decode"
fails 1 "not a package" "$T/prev.listing" -- infer="$A" prefill="$T/prev.listing"
# preflight: a LUT6 infer chunk with a LUT4 prefill chunk
fails 1 "preflight: palette mismatch" "preflight" 'function "prefill"' 'function "infer"' "palettized" \
	"indices=buint4" "indices=buint6" "lut=bfp16[8,1,1,1,16,1]" "lut=bfp16[8,1,1,1,64,1]" "--no-preflight" -- \
	infer="$A" prefill="$P4"
# preflight: context 512 infer with a context 1024 prefill: their KV-cache states differ
fails 1 "preflight: state shape mismatch" "preflight" 'function "infer"' 'function "prefill"' \
	'state "model_model_kv_cache_0"' "[8,2,512,16]" "[8,2,1024,16]" -- infer="$M512" prefill="$MP1024"
# ... and a same-state pair whose function names are not infer/prefill is no state group
expect 0 "no preflight group for other names" -- "$MLDEDUP" combine -q --no-store -o "$T/ok1.mlpackage" a="$M512" b="$MP1024"

# --no-preflight lets both through; verify still passes (values are the sources')
expect 0 "--no-preflight: palette mismatch" -- "$MLDEDUP" combine -q --no-store --no-preflight -o "$T/np1.mlpackage" infer="$A" prefill="$P4"
expect 0 "verify the palette-mismatch output" "0 failures" -- "$MLDEDUP" verify "$T/np1.mlpackage" infer="$A" prefill="$P4"
expect 0 "--no-preflight: state mismatch" -- "$MLDEDUP" combine -q --no-store --no-preflight -o "$T/np2.mlpackage" infer="$M512" prefill="$MP1024"
expect 0 "verify the state-mismatch output" "0 failures" -- "$MLDEDUP" verify "$T/np2.mlpackage" infer="$M512" prefill="$MP1024"

# ---- an output that is, holds or lies inside a source: refused (exit 2), the source intact ----
S=$T/src
mkdir -p "$S/holder.mlpackage"
cp -r "$A" "$S/a.mlpackage"
cp -r "$P" "$S/p.mlpackage"
cp -r "$P" "$S/holder.mlpackage/inner.mlpackage"
ln -s "$S/a.mlpackage" "$S/link.mlpackage"
ln -s "$S/a.mlpackage/Data" "$S/datalink"
"$MLDEDUP" combine -q --no-store --zip -o "$S/z.zip" infer="$A" prefill="$P" || bad "making a zip source failed"
HA=$(pkghash "$S/a.mlpackage") HP=$(pkghash "$S/p.mlpackage") HZ=$(sha256 <"$S/z.zip")
# overlaps WHAT PATTERN -- COMBINE-ARGS...
overlaps() {
	local what=$1 pat=$2
	shift 3
	expect 2 "$what" "would overwrite it" "$pat" -- "$MLDEDUP" combine -q --no-store "$@"
	eq "$what: source a" "$(pkghash "$S/a.mlpackage")" "$HA"
	eq "$what: source p" "$(pkghash "$S/p.mlpackage")" "$HP"
	eq "$what: zip source" "$(sha256 <"$S/z.zip")" "$HZ"
	local left
	left=$(find "$S" -name '*.mldtmp-*')
	eq "$what: temp entries left in the sources" "$left" ""
}
overlaps "-o the anchor" "the output is the source infer=" -- -o "$S/a.mlpackage" infer="$S/a.mlpackage" prefill="$S/p.mlpackage"
overlaps "-o another source" "the output is the source prefill=" -- -o "$S/p.mlpackage" infer="$S/a.mlpackage" prefill="$S/p.mlpackage"
overlaps "-o ./-spelled source" "the output is the source" -- -o "$S/./p.mlpackage/" infer="$S/a.mlpackage" prefill="$S/p.mlpackage"
(cd "$S" && overlaps "-o relative spelling" "the output is the source" -- -o p.mlpackage infer="$S/a.mlpackage" prefill="$S/./p.mlpackage")
overlaps "-o a symlink to a source" "the output is the source" -- -o "$S/link.mlpackage" infer="$S/a.mlpackage" prefill="$S/p.mlpackage"
overlaps "source given through a symlink" "the output is the source" -- -o "$S/a.mlpackage" infer="$S/link.mlpackage" prefill="$S/p.mlpackage"
overlaps "-o inside a source package" "the output lies inside the source infer=" -- -o "$S/a.mlpackage/Data/new.mlpackage" infer="$S/a.mlpackage" prefill="$S/p.mlpackage"
overlaps "-o under a symlinked parent into a source" "the output lies inside the source" -- -o "$S/datalink/new.mlpackage" infer="$S/a.mlpackage" prefill="$S/p.mlpackage"
overlaps "-o holding a source" "the output holds the source prefill=" -- -o "$S/holder.mlpackage" infer="$S/a.mlpackage" prefill="$S/holder.mlpackage/inner.mlpackage"
overlaps "--zip -o a zip source" "the output is the source infer=" -- --zip -o "$S/z.zip" infer="$S/z.zip:infer" prefill="$S/p.mlpackage"
overlaps "--report inside a source" "the report lies inside the source" -- --report "$S/a.mlpackage/r.json" -o "$T/r1.mlpackage" infer="$S/a.mlpackage" prefill="$S/p.mlpackage"
overlaps "--dry-run --report inside a source" "the report lies inside the source" -- --dry-run --report "$S/p.mlpackage/Data/r.csv" -o "$T/r2.mlpackage" infer="$S/a.mlpackage" prefill="$S/p.mlpackage"
overlaps "--stamp inside a source" "the stamp lies inside the source" -- --stamp "$S/a.mlpackage/Manifest.json" -o "$T/r3.mlpackage" infer="$S/a.mlpackage" prefill="$S/p.mlpackage"
overlaps "--stamp is a zip source" "the stamp is the source" -- --stamp "$S/z.zip" -o "$T/r4.mlpackage" infer="$S/z.zip:infer" prefill="$S/p.mlpackage"
# index's build-step outputs describe one package: never written into it
expect 2 "index --stamp inside the package" "the stamp lies inside the package" "would overwrite it" -- \
	"$MLDEDUP" index --store "$T/ix.db" --stamp "$S/a.mlpackage/Manifest.json" "$S/a.mlpackage"
expect 2 "index --depfile inside the package" "the depfile lies inside the package" -- \
	"$MLDEDUP" index --store "$T/ix.db" --stamp "$T/ix.stamp" --depfile "$S/p.mlpackage/Data/x.d" "$S/p.mlpackage"
expect 2 "index --stamp is the zip package" "the stamp is the package" -- \
	"$MLDEDUP" index --store "$T/ix.db" --stamp "$S/z.zip" "$S/z.zip"
expect 2 "index --stamp through a symlinked parent" "the stamp lies inside the package" -- \
	"$MLDEDUP" index --store "$T/ix.db" --stamp "$S/datalink/s.stamp" "$S/link.mlpackage"
eq "index overlaps: source a" "$(pkghash "$S/a.mlpackage")" "$HA"
eq "index overlaps: source p" "$(pkghash "$S/p.mlpackage")" "$HP"
eq "index overlaps: zip source" "$(sha256 <"$S/z.zip")" "$HZ"
[ ! -e "$T/r3.mlpackage" ] && [ ! -e "$T/r4.mlpackage" ] && [ ! -e "$T/ix.stamp" ] && [ ! -e "$S/p.mlpackage/Data/x.d" ] &&
	ok || bad "an overlapping stamp or depfile step wrote something"
expect 0 "index --stamp beside the package" -- "$MLDEDUP" index --store "$T/ix.db" --stamp "$S/a.stamp" --depfile "$S/a.d" "$S/a.mlpackage"
cp -r "$C" "$T/ex"
HEX=$(find "$T/ex" -type f | LC_ALL=C sort | xargs cat | sha256)
expect 2 "--anemll -o inside a source package" "lies inside the source" "would overwrite it" -- \
	"$MLDEDUP" combine -q --no-store --anemll "$T/ex" -o "$T/ex/toy_FFN_lut6_chunk_01of02.mlpackage/x"
eq "--anemll -o inside a source package: sources" "$(find "$T/ex" -type f | LC_ALL=C sort | xargs cat | sha256)" "$HEX"
[ ! -e "$T/ex/toy_FFN_lut6_chunk_01of02.mlpackage/x" ] && ok || bad "--anemll created its output directory inside a source"
[ ! -e "$T/r1.mlpackage" ] && [ ! -e "$S/a.mlpackage/r.json" ] && [ ! -e "$S/p.mlpackage/Data/r.csv" ] && ok || bad "an overlapping combine wrote something"
# the same paths are fine once they are not sources
expect 0 "-o a non-source sibling" -- "$MLDEDUP" combine -q --no-store -o "$S/new.mlpackage" infer="$S/a.mlpackage" prefill="$S/p.mlpackage"

# ---- verify's own errors ----------------------------------------------------------------------
expect 2 "verify without a package" "no package given" -- "$MLDEDUP" verify
expect 2 "verify with a bad source" "is not NAME=PKG[:FUNC]" -- "$MLDEDUP" verify "$PREV" infer"$A"
expect 1 "verify of a missing package" "$T/missing.mlpackage" -- "$MLDEDUP" verify "$T/missing.mlpackage"
expect 1 "verify with a function the package lacks" 'no function "decode"' -- "$MLDEDUP" verify "$PREV" decode="$A"
expect 1 "verify with a source function that does not exist" 'source infer=' 'no function "typo"' "FAILED" -- \
	"$MLDEDUP" verify "$PREV" infer="$A:typo"
grep -q "0 weights checked" "$T/err" && grep -q ": ok" "$T/err" && bad "verify with a misspelt source function says ok" || ok
expect 1 "verify with one misspelt source function of two" 'no function "typo"' -- "$MLDEDUP" verify "$PREV" infer="$A" prefill="$P:typo"
expect 1 "verify against the wrong source" "FAIL" "differs" -- "$MLDEDUP" verify "$PREV" infer="$A" prefill="$P4"
finish
