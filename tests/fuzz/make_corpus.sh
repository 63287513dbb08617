#!/usr/bin/env bash
# Seed inputs for the fuzz targets (tests/fuzz/corpus/<target>/), from synthetic
# packages (mldtest mkpkg) and, if present, the smallest fixture models. Files named
# crash-* are inputs a fuzzer once found a bug with: they are kept. Seeds are then
# minimised into the corpora with libFuzzer's -merge=1 (see tests/fuzz/README.md).
#
# Usage: MLDTEST=build/tests/cli/mldtest MLDEDUP=build/mldedup bash tests/fuzz/make_corpus.sh OUTDIR [TARGET...]
set -euo pipefail
: "${MLDTEST:?MLDTEST must name the mldtest helper}"
OUT=${1:?usage: make_corpus.sh OUTDIR [TARGET...]}
shift
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(package model blob manifest zip store ios18 combine stamp cli)
FIX=${MLD_FIXTURES_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/fixtures}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
M=Data/com.apple.CoreML/model.mlmodel W=Data/com.apple.CoreML/weights/weight.bin
# The fuzzers' base packages (fuzz_common.c): the same options and seeds.
"$MLDTEST" mkpkg "$T/b.mlpackage" --all-ops
"$MLDTEST" mkpkg "$T/i.mlpackage" --ios16 --seed 7
"$MLDTEST" mkpkg "$T/f.mlpackage" --second-fn --seed 3
# Variants.
"$MLDTEST" mkpkg "$T/d.mlpackage"
"$MLDTEST" mkpkg "$T/h.mlpackage" --huge-shape --all-ops
"$MLDTEST" mkpkg "$T/m.mlpackage" --huge-immediate --all-ops
"$MLDTEST" mkpkg "$T/c.mlpackage" --cycle pair
for c in crop_resize nms clip_equal idx_const_pos idx_const_neg idx_uint16 idx_int16 idx_symbolic; do
	"$MLDTEST" mkpkg "$T/i_$c.mlpackage" --ios16-case "$c" --seed 7
done
"$MLDTEST" mkzip "$T/z1.zip" "$T/b.mlpackage"
"$MLDTEST" mkzip "$T/z2.zip" --macosx --prefix dir/ "$T/b.mlpackage"
"$MLDTEST" mkzip "$T/z3.zip" "$T/i.mlpackage"

seed() { # seed TARGET NAME [PREFIX-BYTES] < data
	mkdir -p "$OUT/$1"
	{
		[ $# -ge 3 ] && printf "$3"
		cat
	} >"$OUT/$1/$2"
}
for target in "${TARGETS[@]}"; do
	case $target in
	package)
		seed package model-valid '\x00' <"$T/b.mlpackage/$M"
		seed package model-valid-write '\x80' <"$T/b.mlpackage/$M"
		seed package model-ios16-write '\x84' <"$T/i.mlpackage/$M"
		seed package model-two-functions-write '\x88' <"$T/f.mlpackage/$M"
		seed package weights-valid '\x01' <"$T/b.mlpackage/$W"
		seed package weights-ios16 '\x05' <"$T/i.mlpackage/$W"
		seed package manifest-valid '\x02' <"$T/b.mlpackage/Manifest.json"
		seed package zip-valid-write '\x83' <"$T/z1.zip"
		seed package zip-macosx-nested '\x03' <"$T/z2.zip"
		;;
	model)
		for p in b i f d h m c; do seed model "$p" <"$T/$p.mlpackage/$M"; done
		for c in crop_resize nms clip_equal idx_const_neg idx_int16 idx_symbolic; do
			seed model "ios16-$c" <"$T/i_$c.mlpackage/$M"
		done
		head -c 900 "$T/b.mlpackage/$M" | seed model truncated
		if [ -d "$FIX" ]; then # two real models: coremltools' encoding of every op
			seed model fixture-ios16 <"$FIX/ios16/toy_FFN_ios16_lut6_chunk_01of02.mlpackage/$M"
			seed model fixture-embeddings <"$FIX/anemll-ctx256/qwen25_embeddings.mlpackage/$M"
		fi
		;;
	blob)
		seed blob valid <"$T/b.mlpackage/$W"
		head -c 40 "$T/b.mlpackage/$W" | seed blob truncated-header
		n=$(wc -c <"$T/b.mlpackage/$W")
		head -c $((n - 8)) "$T/b.mlpackage/$W" | seed blob data-past-eof
		cp "$OUT/blob/valid" "$OUT/blob/bad-sentinel"
		printf '\x00\x00\x00\x00' | dd of="$OUT/blob/bad-sentinel" bs=1 seek=64 conv=notrunc 2>/dev/null
		;;
	manifest)
		seed manifest valid <"$T/b.mlpackage/Manifest.json"
		printf '{"fileFormatVersion": "1.0.0", "itemInfoEntries": {"a": {"path": "../x", "name": "n", "author": "a", "description": "d"}}, "rootModelIdentifier": "a"}' |
			seed manifest dotdot
		printf '{"fileFormatVersion": "1.0.0", "itemInfoEntries": {' | seed manifest invalid-json
		;;
	zip)
		for z in z1 z2 z3; do seed zip "$z" <"$T/$z.zip"; done
		head -c 1500 "$T/z1.zip" | seed zip truncated
		;;
	ios18) # every op-set case, the iOS15/17 labels, and two real models
		for p in i b; do seed ios18 "$p" <"$T/$p.mlpackage/$M"; done
		for c in crop_resize nms clip_equal idx_const_pos idx_const_neg idx_uint16 idx_int16 idx_symbolic; do
			seed ios18 "$c" <"$T/i_$c.mlpackage/$M"
		done
		"$MLDTEST" mkpkg "$T/i5.mlpackage" --ios16 --opset CoreML5 --seed 7
		"$MLDTEST" mkpkg "$T/i7.mlpackage" --ios16 --opset CoreML7 --seed 7
		seed ios18 coreml5 <"$T/i5.mlpackage/$M"
		seed ios18 coreml7 <"$T/i7.mlpackage/$M"
		if [ -d "$FIX" ]; then
			seed ios18 fixture-ios16 <"$FIX/ios16/toy_FFN_ios16_lut6_chunk_01of02.mlpackage/$M"
			seed ios18 fixture-ios17 <"$FIX/ios16/toy_FFN_ios17_lut4_chunk_01of02.mlpackage/$M"
		fi
		;;
	combine) # byte 0: sources and options; parts: models replacing the bases' (fuzz_common.c)
		for f in 00 01 02 03 05 0a 11; do printf "\\x$f" | seed combine "flags-$f"; done
		{ printf '\x01'; cat "$T/i_idx_const_neg.mlpackage/$M"; } | seed combine ios16-neg-first
		{ printf '\x02\nMLD'; cat "$T/i_clip_equal.mlpackage/$M"; } | seed combine ios16-clip-second
		{ printf '\x00'; cat "$T/c.mlpackage/$M"; } | seed combine cycle-first
		;;
	stamp) # byte 0: file and base; then the file, a package path, a depfile target
		printf '\x03\nMLDp.mlpackage\nMLDp.stamp' | seed stamp plain
		printf '\x03\nMLDmy pkg #1 $x.mlpackage\nMLDstamps/my pkg #1 $x.stamp' | seed stamp spaces
		printf '\x03\nMLDa&b|c.mlpackage\nMLDo:u\\t' | seed stamp specials
		printf '\x03\nMLDback\\ sl\\#a\\:b\\\nMLDt\\' | seed stamp backslashes
		printf '\x07\nMLDios16.mlpackage\nMLDios16.stamp' | seed stamp ios16
		;;
	cli) # byte 0: the command (src/cli/main.c's table); then NUL-separated arguments
		printf '\x00--store\0s.db\0--json\0a.mlpackage\0b.mlpackage' | seed cli index
		printf '\x03-o\0out.mlpackage\0--strict\0--report\0r.json\0a=x.mlpackage\0b=y.mlpackage:prefill\0-v' |
			seed cli combine
		printf '\x01--json\0--no-header\0p.mlpackage' | seed cli ls
		printf '\x03-Zx\0--bogus\0-o' | seed cli bad
		;;
	store) # a fresh file, a store after index + combine, a schema-v1 store (every migration)
		: "${MLDEDUP:?MLDEDUP must name mldedup for the store seeds}"
		mkdir -p "$OUT/store"
		: >"$OUT/store/fresh"
		"$MLDEDUP" index -q --store "$T/full.db" "$T/b.mlpackage" "$T/f.mlpackage"
		"$MLDEDUP" combine -q --store "$T/full.db" --dry-run -o "$T/o.mlpackage" a="$T/b.mlpackage" \
			b="$T/f.mlpackage:main" c="$T/f.mlpackage:prefill"
		sqlite3 "$T/v1.db" <"$(dirname "$0")/../../schema/store_v1.sql"
		sqlite3 "$T/v1.db" "PRAGMA user_version = 1"
		for db in full v1; do # rollback journal (memdb has no WAL), small pages
			sqlite3 "$T/$db.db" "PRAGMA journal_mode = DELETE; PRAGMA page_size = 512; VACUUM;" >/dev/null
			cp "$T/$db.db" "$OUT/store/$db"
		done
		;;
	esac
done
