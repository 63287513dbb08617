#!/usr/bin/env bash
# Regenerate the seed inputs of tests/cli/corpus/ for fuzz_package (see fuzz_package.c
# for the input layout). Files named crash-* are inputs the fuzzer once crashed on:
# they are kept. Usage: MLDTEST=build/tests/cli/mldtest bash tests/cli/make_corpus.sh
set -euo pipefail
: "${MLDTEST:?MLDTEST must name the mldtest helper}"
C=$(cd "$(dirname "$0")" && pwd)/corpus
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
M=Data/com.apple.CoreML/model.mlmodel W=Data/com.apple.CoreML/weights/weight.bin
"$MLDTEST" mkpkg "$T/b.mlpackage" --all-ops # the fuzz target's base package
"$MLDTEST" mkpkg "$T/d.mlpackage"
"$MLDTEST" mkpkg "$T/h.mlpackage" --huge-shape --all-ops
"$MLDTEST" mkpkg "$T/i.mlpackage" --huge-immediate --all-ops
"$MLDTEST" mkpkg "$T/f.mlpackage" --second-fn
"$MLDTEST" mkzip "$T/z1.zip" "$T/b.mlpackage"
"$MLDTEST" mkzip "$T/z2.zip" --macosx --prefix dir/ "$T/b.mlpackage"
find "$C" -type f ! -name 'crash-*' -delete
seed() { # seed NAME SELECTOR-BYTE FILE [HEAD-BYTES]
	{
		printf "$2"
		if [ $# -ge 4 ]; then head -c "$4" "$3"; else cat "$3"; fi
	} >"$C/$1"
}
seed model-valid '\x00' "$T/b.mlpackage/$M"
seed model-valid-write '\x80' "$T/b.mlpackage/$M"
seed model-default-package '\x00' "$T/d.mlpackage/$M"
seed model-two-functions '\x00' "$T/f.mlpackage/$M"
seed model-huge-shape '\x00' "$T/h.mlpackage/$M"
seed model-huge-immediate '\x00' "$T/i.mlpackage/$M"
seed model-truncated '\x00' "$T/b.mlpackage/$M" 900
printf '\x00\xff\xff\xff\xff\xff\xff\xff\xff' >"$C/model-garbage"
printf '\x00' >"$C/model-empty"
seed weights-valid '\x01' "$T/b.mlpackage/$W"
seed weights-truncated-header '\x01' "$T/b.mlpackage/$W" 40
seed weights-data-past-eof '\x01' "$T/b.mlpackage/$W" $(($(wc -c <"$T/b.mlpackage/$W") - 8))
patched() { # patched NAME OFFSET BYTES: weights-valid with bytes overwritten
	cp "$C/weights-valid" "$C/$1"
	printf "$3" | dd of="$C/$1" bs=1 seek=$(($2 + 1)) conv=notrunc 2>/dev/null
}
patched weights-bad-sentinel 64 '\x00\x00\x00\x00'
patched weights-dtype-mismatch 68 '\x02'
patched weights-size-huge 72 '\xff\xff\xff\xff\xff\xff\xff\xff'
seed manifest-valid '\x02' "$T/b.mlpackage/Manifest.json"
printf '\x02{"fileFormatVersion": "1.0.0", "itemInfoEntries": {"a": {"path": "../x", "name": "n", "author": "a", "description": "d"}}, "rootModelIdentifier": "a"}' >"$C/manifest-dotdot"
printf '\x02{"fileFormatVersion": "1.0.0", "itemInfoEntries": {' >"$C/manifest-invalid-json"
seed zip-valid '\x03' "$T/z1.zip"
seed zip-macosx-nested-write '\x83' "$T/z2.zip"
seed zip-truncated '\x03' "$T/z1.zip" 1500
ls "$C" | wc -l
