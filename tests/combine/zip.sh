#!/usr/bin/env bash
# combine_zip: --zip writes OUT.zip holding OUT.mlpackage/ (weights stored, not
# deflated) with the same model and weight bytes as the directory output; `mldedup
# ls` and `verify` read the zip like the directory; a second --zip replaces it; a
# --zip output not ending in .zip is a usage error that writes nothing.
source "$(dirname "$0")/lib.sh"
need_fixtures

C=$F/chunked
SRC=(infer="$C/toy_FFN_lut4_chunk_01of02.mlpackage" prefill="$C/toy_prefill_lut4_chunk_01of02.mlpackage")

expect 0 "combine to a directory" -- "$MLDEDUP" combine -q --no-store -o "$T/dir.mlpackage" "${SRC[@]}"
expect 0 "combine --zip" -- "$MLDEDUP" combine -q --no-store --zip --json -o "$T/model.zip" "${SRC[@]}"
[ -f "$T/model.zip" ] && ok || bad "no model.zip"
[ ! -e "$T/model.mlpackage" ] && ok || bad "--zip also left a model.mlpackage directory"
eq "--zip --json output" "$(json "$T/out" output)" "$T/model.zip"

"$COMBINE_CHECK" zip-ls "$T/model.zip" >"$T/entries" || bad "zip-ls failed"
sed 's/^/    /' "$T/entries"
# every entry under model.mlpackage/
bad_entries=$(cut -f1 "$T/entries" | grep -v '^model\.mlpackage/' || true)
eq "entries outside model.mlpackage/" "$bad_entries" ""
for e in model.mlpackage/Manifest.json model.mlpackage/Data/com.apple.CoreML/model.mlmodel \
	model.mlpackage/Data/com.apple.CoreML/weights/weight.bin; do
	grep -q "^$e	" "$T/entries" && ok || bad "zip lacks $e"
done
eq "weight.bin is stored uncompressed" \
	"$(awk -F'\t' '$1 == "model.mlpackage/Data/com.apple.CoreML/weights/weight.bin" { print $3 }' "$T/entries")" store
for f in Data/com.apple.CoreML/model.mlmodel Data/com.apple.CoreML/weights/weight.bin Manifest.json; do
	a=$("$COMBINE_CHECK" zip-cat "$T/model.zip" "model.mlpackage/$f" | sha256)
	b=$(sha256 <"$T/dir.mlpackage/$f")
	eq "$f in the zip equals the directory output's" "$a" "$b"
done

# ls and verify read it
"$MLDEDUP" ls "$T/dir.mlpackage" >"$T/ls.dir" 2>/dev/null
expect 0 "ls of the zip" -- "$MLDEDUP" ls "$T/model.zip"
cmp -s "$T/out" "$T/ls.dir" && ok || bad "ls of the zip differs from ls of the directory"
eq "functions in the zip" "$(functions "$T/model.zip")" "infer prefill"
expect 0 "ls --json of the zip" -- "$MLDEDUP" ls --json "$T/model.zip"
eq "weights listed" "$(json "$T/out" 'weights.#')" "$("$MLDEDUP" ls --no-header "$T/dir.mlpackage" | wc -l)"
expect 0 "verify the zip against its sources" "0 failures" -- "$MLDEDUP" verify --json "$T/model.zip" "${SRC[@]}"
eq "verify --json failures" "$(json "$T/out" failures)" 0
[ "$(json "$T/out" weights)" -gt 0 ] && ok || bad "verify checked no weights"
expect 0 "verify the zip (structure)" -- "$MLDEDUP" verify "$T/model.zip"
expect 1 "verify the zip against the wrong sources" "FAIL" -- "$MLDEDUP" verify "$T/model.zip" \
	infer="$C/toy_FFN_lut6_chunk_01of02.mlpackage" prefill="$C/toy_prefill_lut6_chunk_01of02.mlpackage"

# a second --zip replaces it with the other group's package
L6=(infer="$C/toy_FFN_lut6_chunk_01of02.mlpackage" prefill="$C/toy_prefill_lut6_chunk_01of02.mlpackage")
expect 0 "second combine --zip over it" -- "$MLDEDUP" combine -q --no-store --zip -o "$T/model.zip" "${L6[@]}"
expect 0 "verify the replaced zip" "0 failures" -- "$MLDEDUP" verify "$T/model.zip" "${L6[@]}"
ls -a "$T" | grep -q 'tmp-' && bad "temp files left beside the zip: $(ls -a "$T" | grep tmp-)" || ok

# usage errors: nothing written
expect 2 "--zip with -o X.mlpackage" "must end in .zip" -- "$MLDEDUP" combine -q --no-store --zip -o "$T/x.mlpackage" "${SRC[@]}"
[ ! -e "$T/x.mlpackage" ] && ok || bad "--zip -o x.mlpackage wrote something"
expect 2 "-o X.zip without --zip" "must end in .mlpackage" -- "$MLDEDUP" combine -q --no-store -o "$T/y.zip" "${SRC[@]}"
[ ! -e "$T/y.zip" ] && ok || bad "-o y.zip without --zip wrote something"
finish
