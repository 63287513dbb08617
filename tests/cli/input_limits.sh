#!/usr/bin/env bash
# cli_input_limits: hostile inputs that once crashed, hung or ate memory (issue 9).
# Each must end promptly (a 60 s timeout counts as a hang), exit 1 with a message
# naming the file and the problem, and never crash:
#   - a FIFO in place of any file mldedup reads (nothing may block);
#   - a model.mlmodel nested 10,000 levels deep (protobuf-c's unpack recursed once
#     per level: a stack overflow);
#   - a 2 MB zip whose weight.bin inflates to 2 GiB (index used 2.1 GB);
#   - a weight.bin that is a directory inside a zip;
#   - constexpr ops consuming their own outputs (the weight silently vanished).
source "$(dirname "$0")/lib.sh"

GOOD=$T/good.mlpackage
"$MLDTEST" mkpkg "$GOOD" || { echo "FAIL: mldtest mkpkg"; exit 1; }
W=Data/com.apple.CoreML/weights/weight.bin
M=Data/com.apple.CoreML/model.mlmodel
TO=(timeout -k 5 "${MLD_TEST_TIMEOUT:-60}")

fresh() {
	rm -rf "$T/$1.mlpackage"
	cp -r "$GOOD" "$T/$1.mlpackage"
	echo "$T/$1.mlpackage"
}

# bad_input DESCRIPTION PKG PATTERN...: ls, index and combine all fail (exit 1, no hang)
# with messages matching every pattern.
bad_input() {
	local what=$1 pkg=$2
	shift 2
	expect 1 "$what (ls)" "$@" -- "${TO[@]}" "$MLDEDUP" ls "$pkg"
	expect 1 "$what (index)" "$@" -- "${TO[@]}" "$MLDEDUP" index --store "$T/bad.db" "$pkg"
	expect 1 "$what (combine)" "$@" -- "${TO[@]}" "$MLDEDUP" combine --no-store --dry-run -o "$T/out.mlpackage" \
		a="$pkg" b="$GOOD"
}

# ---- FIFOs: every file kind, opened without blocking ----------------------------------
P=$(fresh fifo_manifest); rm "$P/Manifest.json"; mkfifo "$P/Manifest.json"
bad_input "Manifest.json is a FIFO" "$P" "Manifest.json" "is a FIFO, not a regular file"

P=$(fresh fifo_model); rm "$P/$M"; mkfifo "$P/$M"
bad_input "model.mlmodel is a FIFO" "$P" "model.mlmodel" "is a FIFO, not a regular file"

P=$(fresh fifo_weights); rm "$P/$W"; mkfifo "$P/$W"
bad_input "weight.bin is a FIFO" "$P" "weight.bin" "is a FIFO, not a regular file"

# Another blob file: the model's blob references renamed to weights/weighX.bin (the
# same length, so the protobuf stays valid), and that file a FIFO.
P=$(fresh fifo_blob)
LC_ALL=C sed 's|@model_path/weights/weight\.bin|@model_path/weights/weighX.bin|g' "$P/$M" >"$P/$M.new" && mv "$P/$M.new" "$P/$M"
cp "$P/$W" "$P/Data/com.apple.CoreML/weights/weighX.bin"
expect 0 "a blob file other than weight.bin (control)" -- "${TO[@]}" "$MLDEDUP" ls "$P"
rm "$P/Data/com.apple.CoreML/weights/weighX.bin"; mkfifo "$P/Data/com.apple.CoreML/weights/weighX.bin"
bad_input "another blob file is a FIFO" "$P" "weighX.bin" "is a FIFO, not a regular file"

P=$T/fifo.zip; mkfifo "$P"
bad_input "the zip is a FIFO" "$P" "fifo.zip" "is a FIFO, not a regular file"

P=$(fresh fifo_link); rm "$P/$W"; mkdir -p "$P/Data/x"; mkfifo "$P/Data/x/f"
ln -s ../../x/f "$P/$W"
bad_input "weight.bin is a symlink to a FIFO in the package" "$P" "is a FIFO, not a regular file"

# The identity path: an indexed package whose weight.bin became a FIFO is seen as
# changed (stat only), re-read, and refused.
P=$(fresh fifo_later)
expect 0 "index before the FIFO (control)" -- "${TO[@]}" "$MLDEDUP" index --store "$T/later.db" "$P"
rm "$P/$W"; mkfifo "$P/$W"
expect 1 "weight.bin became a FIFO after indexing (index)" "weight.bin" "is a FIFO" -- \
	"${TO[@]}" "$MLDEDUP" index --store "$T/later.db" "$P"
expect 0 "weight.bin became a FIFO after indexing (packages)" -- "${TO[@]}" "$MLDEDUP" packages --store "$T/later.db"
grep -q stale "$T/out" && ok || bad "packages does not call the package stale"

mkfifo "$T/fifo.db"
expect 1 "the store is a FIFO (index)" "fifo.db" "is a FIFO, not a regular file" -- \
	"${TO[@]}" "$MLDEDUP" index --store "$T/fifo.db" "$GOOD"
expect 1 "the store is a FIFO (stats)" "fifo.db" "is a FIFO, not a regular file" -- \
	"${TO[@]}" "$MLDEDUP" stats --store "$T/fifo.db"
"$MLDEDUP" index -q --store "$T/wal.db" "$GOOD"
rm -f "$T/wal.db-wal"; mkfifo "$T/wal.db-wal"
expect 1 "the store's -wal file is a FIFO" "wal.db-wal" "is a FIFO, not a regular file" -- \
	"${TO[@]}" "$MLDEDUP" index --store "$T/wal.db" "$GOOD"

# A store whose schema version (a signed 32-bit header field) is negative indexed the
# migration table out of bounds (found by the store fuzz target).
"$MLDEDUP" index -q --store "$T/neg.db" "$GOOD"
"$MLDTEST" sqlw "$T/neg.db" "PRAGMA user_version = -150994944"
expect 1 "a store with a negative schema version (index)" "neg.db" "schema version -150994944 is not one mldedup writes" -- \
	"${TO[@]}" "$MLDEDUP" index --store "$T/neg.db" "$GOOD"
expect 1 "a store with a negative schema version (stats)" "neg.db" "schema version -150994944 is not one mldedup writes" -- \
	"${TO[@]}" "$MLDEDUP" stats --store "$T/neg.db"

# ---- a protobuf nested 10,000 deep: refused before protobuf-c recurses ------------------
for kind in block type value; do
	P=$(fresh "deep_$kind"); "$MLDTEST" mkdeep "$P/$M" 10000 "$kind"
	[ "$(wc -c <"$P/$M")" -lt 150000 ] && ok || bad "mkdeep $kind: larger than expected"
	bad_input "model.mlmodel nested 10000 deep ($kind)" "$P" "model.mlmodel" "nested more than 100 deep"
	"$MLDTEST" mkzip "$T/deep_$kind.zip" "$P"
	expect 1 "zipped model.mlmodel nested 10000 deep ($kind)" "nested more than 100 deep" -- \
		"${TO[@]}" "$MLDEDUP" ls "$T/deep_$kind.zip"
done
P=$(fresh deep_ok); "$MLDTEST" mkdeep "$P/$M" 45 block # 95 levels in all: accepted
expect 0 "a model nested 95 deep (control)" -- "${TO[@]}" "$MLDEDUP" ls "$P"

# Manifest.json nested 200,000 deep: jansson's own depth limit refuses it
P=$(fresh deep_json)
{ head -c 200000 /dev/zero | tr '\0' '['; head -c 200000 /dev/zero | tr '\0' ']'; } >"$P/Manifest.json"
bad_input "Manifest.json nested 200000 deep" "$P" "Manifest.json" "maximum parsing depth"

# ---- zip bombs ------------------------------------------------------------------------------
# 2 GiB of zeros after the blobs of weight.bin: a 2 MB zip. Refused from the sizes in
# the zip, before anything is inflated.
"$MLDTEST" mkbomb "$T/bomb.zip" "$GOOD" "$W" $((2 << 30))
[ "$(wc -c <"$T/bomb.zip")" -lt 4000000 ] && ok || bad "mkbomb: the bomb is not small"
for cmd in ls index; do
	args=("$cmd"); [ $cmd = index ] && args+=(--store "$T/bomb.db")
	expect 1 "2 GiB zip bomb ($cmd)" "bomb.zip:good.mlpackage/$W" "likely zip bomb" "unzip the package" -- \
		"${TO[@]}" "$MLDTEST" maxrss "$T/rss" "$MLDEDUP" "${args[@]}" "$T/bomb.zip"
	rss=$(cat "$T/rss")
	[ "$rss" -lt 204800 ] && ok || bad "2 GiB zip bomb ($cmd): peak RSS $rss KiB, want < 200 MiB"
done
# 512 MiB at about 50:1 is below the limit: read as a stream through a temp file, and
# index, which hashes every byte of weight.bin, keeps its resident size bounded.
"$MLDTEST" mkbomb "$T/big.zip" "$GOOD" "$W" $((512 << 20)) 20
for cmd in ls index; do
	args=("$cmd"); [ $cmd = index ] && args+=(--store "$T/big.db")
	expect 0 "512 MiB weight.bin at 50:1 ($cmd)" -- "${TO[@]}" "$MLDTEST" maxrss "$T/rss" "$MLDEDUP" "${args[@]}" "$T/big.zip"
	rss=$(cat "$T/rss")
	[ "$rss" -lt 204800 ] && ok || bad "512 MiB weight.bin ($cmd): peak RSS $rss KiB, want < 200 MiB"
done
# A 64 MiB weight.bin inflates whatever its ratio (the generator's output is sound).
"$MLDTEST" mkbomb "$T/free.zip" "$GOOD" "$W" $(((64 << 20) - 1408))
expect 0 "64 MiB of zeros: below the size the ratio applies to" -- "${TO[@]}" "$MLDEDUP" ls "$T/free.zip"

# ---- a directory where a file belongs, inside a zip --------------------------------------
P=$(fresh zipdir); rm "$P/$W"; mkdir "$P/$W"; echo x >"$P/$W/inside"
"$MLDTEST" mkzip "$T/zipdir.zip" "$P"
bad_input "weight.bin is a directory inside a zip" "$T/zipdir.zip" "zipdir.mlpackage/$W" "is a directory in the zip, not a file"
P=$(fresh zipdir_model); rm "$P/$M"; mkdir "$P/$M"; echo x >"$P/$M/inside"
"$MLDTEST" mkzip "$T/zipdir_model.zip" "$P"
bad_input "model.mlmodel is a directory inside a zip" "$T/zipdir_model.zip" "model.mlmodel" "is a directory in the zip, not a file"

# ---- constexpr cycles -------------------------------------------------------------------------
P=$T/cycle_self.mlpackage; "$MLDTEST" mkpkg "$P" --cycle self
bad_input "a constexpr op consuming its own output" "$P" "cycle_self.mlpackage" 'function "main"' \
	'consumes its own output' 'constexpr_cast "w_cyc"'
P=$T/cycle_pair.mlpackage; "$MLDTEST" mkpkg "$P" --cycle pair
bad_input "two constexpr ops consuming each other's outputs" "$P" "cycle_pair.mlpackage" 'in a cycle' \
	'constexpr_cast "w_cyc_a" -> constexpr_cast "w_cyc_b" -> constexpr_cast "w_cyc_a"'

finish
