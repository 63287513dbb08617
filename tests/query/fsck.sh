#!/usr/bin/env bash
# query_fsck: fsck passes a sound store (also --deep) and catches each kind of damage
# done on purpose with the sqlite3 command: a missing contents row, an encoding that
# decodes to another content, a weight without its package, a dropped view, overwritten
# pages, a file that is not a database; and --deep catches digests that are consistent
# with each other but not with the package.
source "$(dirname "$0")/../cli/lib.sh"
: "${QTEST:?QTEST must name the qtest helper}"
need_fixtures
if ! command -v sqlite3 >/dev/null; then
	echo "SKIP: the sqlite3 command is not installed"
	exit 77
fi
C=$MLD_FIXTURES_DIR/chunked
A=$C/toy_FFN_lut6_chunk_01of02.mlpackage B=$C/toy_prefill_lut6_chunk_01of02.mlpackage
S=$T/store.db
expect 0 "index" -- "$MLDEDUP" index --store "$S" "$A" "$B"
expect 0 "combine" -- "$MLDEDUP" combine -q --store "$S" -o "$T/out.mlpackage" infer="$A" prefill="$B"
sqlite3 "$S" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null # all in the main file, to copy it

expect 0 "fsck" -- "$MLDEDUP" fsck --store "$S"
eq "fsck: silent" "$(cat "$T/out" "$T/err")" ""
expect 0 "fsck --deep --json" -- "$MLDEDUP" fsck --deep --json --store "$S"
eq "fsck --deep: checked" "$("$QTEST" get "$T/out" problems.# packages_checked weights_checked)" $'0\n2\n40'

# damage SQL PATTERN [--deep]: a copy of the store with SQL applied must fail fsck,
# listing PATTERN on stdout.
damage() {
	local sql=$1 pattern=$2
	shift 2
	cp "$S" "$T/bad.db"
	sqlite3 "$T/bad.db" "$sql" || bad "sqlite3: $sql"
	expect 1 "fsck $* after: $sql" "problem" -- "$MLDEDUP" fsck "$@" --store "$T/bad.db"
	grep -qF -- "$pattern" "$T/out" && ok || bad "fsck $* after '$sql': no '$pattern' in: $(head -5 "$T/out")"
}
damage "DELETE FROM contents WHERE digest = (SELECT content_digest FROM weights WHERE name = 'rope_cos')" \
	"weights: weight $(realpath "$A"):main:rope_cos: content"
damage "UPDATE encodings SET content_digest = (SELECT content_digest FROM weights WHERE name = 'rope_sin' LIMIT 1)
	WHERE digest IN (SELECT encoding_digest FROM weights WHERE name = 'rope_cos')" "but its encoding decodes to"
damage "DELETE FROM packages WHERE path = '$(realpath "$B")'" "references: row 2 of functions references a missing packages row"
damage "DROP VIEW q1_weights" "schema: view q1_weights is missing"
damage "UPDATE weights SET shape = '[1]' WHERE name = 'rope_cos'" "but its content is fp16 [512,16]"
damage "UPDATE decisions SET outcome = 'maybe'" "outcome 'maybe'"
SCHEMA=$(ls "$(dirname "$0")"/../../schema/store_v*.sql | wc -l | tr -d ' ') # the latest migration
damage "PRAGMA user_version = 3" "schema: schema version 3, expected $SCHEMA"

# Consistent rows, wrong digests: every q_proj weight (and its encoding) claims the
# o_proj content, which has the same dtype and shape. Only --deep can tell.
SWAP="UPDATE encodings SET content_digest = (SELECT content_digest FROM weights
	WHERE name = 'layers_0_self_attn_o_proj_weight_palettized' LIMIT 1)
	WHERE digest IN (SELECT encoding_digest FROM weights WHERE name = 'layers_0_self_attn_q_proj_weight_palettized');
	UPDATE weights SET content_digest = (SELECT content_digest FROM encodings e WHERE e.digest = weights.encoding_digest)
	WHERE name = 'layers_0_self_attn_q_proj_weight_palettized';"
cp "$S" "$T/swap.db"
sqlite3 "$T/swap.db" "$SWAP"
expect 0 "fsck: consistent swap passes the shallow checks" -- "$MLDEDUP" fsck --store "$T/swap.db"
damage "$SWAP" "layers_0_self_attn_q_proj_weight_palettized: content digest differs from the store's" --deep
# A blob digest (what combine shares blobs by) that is not the blob's: only --deep tells.
BLOB="UPDATE weight_blobs SET digest = zeroblob(16) WHERE seq = 0 AND weight_id IN
	(SELECT id FROM weights WHERE name = 'layers_0_mlp_up_proj_weight_palettized')"
damage "$BLOB" "layers_0_mlp_up_proj_weight_palettized: blob 0 digest differs from the store's" --deep

# Bytes overwritten: pages 2-4 (tables and indexes) become 0xff.
cp "$S" "$T/bytes.db"
head -c 12288 /dev/zero | tr '\0' '\377' | dd of="$T/bytes.db" bs=4096 seek=1 conv=notrunc 2>/dev/null
run "$MLDEDUP" fsck --store "$T/bytes.db"
[ "$RC" -eq 1 ] && ! sanitizer_report && grep -qiE 'integrity|malformed|corrupt' "$T/out" "$T/err" && ok ||
	bad "fsck of overwritten pages: exit $RC: $(head -3 "$T/out" "$T/err")"
echo "not a database, not at all; just some text long enough to be read as a header" >"$T/text.db"
expect 1 "fsck of a text file" "not a database" -- "$MLDEDUP" fsck --store "$T/text.db"

# --deep skips what changed or vanished on disk, saying so.
cp -r "$A" "$T/copy.mlpackage"
expect 0 "index a copy" -- "$MLDEDUP" index --store "$S" "$T/copy.mlpackage"
rm -rf "$T/copy.mlpackage"
expect 0 "fsck --deep: a missing package is skipped" "not re-read (missing)" -- "$MLDEDUP" fsck --deep --store "$S"
finish
