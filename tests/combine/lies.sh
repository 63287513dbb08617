#!/usr/bin/env bash
# combine_lies: the store is a cache, never an authority for output values. Rows that
# lie about bytes - a blob digest that is not its bytes', a blob said to equal the
# anchor's that does not, a recorded byte match that is false - are caught by what
# combine reads anyway, dropped with a warning (the package is indexed afresh next
# time), and the output is exactly the one a store-less combine writes.
source "$(dirname "$0")/lib.sh"
need_fixtures
if ! command -v sqlite3 >/dev/null; then
	echo "SKIP: the sqlite3 command is not installed"
	exit 77
fi
C=$F/chunked
A=$(realpath "$C/toy_FFN_lut6_chunk_01of02.mlpackage") B=$(realpath "$C/toy_prefill_lut6_chunk_01of02.mlpackage")
SRC=(infer="$A" prefill="$B")
expect 0 "reference: combine without a store" -- "$MLDEDUP" combine -q --no-store -o "$T/ref.mlpackage" "${SRC[@]}"
REF=$(pkghash "$T/ref.mlpackage")

# the id of weight NAME of package PKG
wid() { echo "(SELECT w.id FROM weights w JOIN functions f ON f.id = w.function_id JOIN packages p ON p.id = f.package_id
	WHERE p.path = '$1' AND w.name = '$2')"; }

# lie NAME SQL: a fresh store indexed (and, with WARM=1, combined once), SQL applied;
# the combine must warn, drop the rows and still write the reference output.
lie() {
	local name=$1 sql=$2 S=$T/$1.db
	"$MLDEDUP" index -q --store "$S" "$A" "$B" || bad "$name: index"
	if [ "${WARM:-0}" = 1 ]; then
		"$MLDEDUP" combine -q --store "$S" -o "$T/$name.warmup.mlpackage" "${SRC[@]}" || bad "$name: first combine"
		[ "$(sqlite3 "$S" 'SELECT count(*) FROM blob_matches')" -gt 0 ] && ok || bad "$name: no byte matches recorded"
	fi
	sqlite3 "$S" "$sql" || bad "$name: sqlite3: $sql"
	expect 0 "$name: combine over lying rows" "do not match its bytes" -- \
		"$MLDEDUP" combine -q --store "$S" -o "$T/$name.mlpackage" "${SRC[@]}"
	grep -q "dropped; deciding afresh" "$T/err" && ok || bad "$name: no warning: $(cat "$T/err")"
	eq "$name: output equals the store-less one" "$(pkghash "$T/$name.mlpackage")" "$REF"
	expect 0 "$name: verify" "0 failures" -- "$MLDEDUP" verify "$T/$name.mlpackage" "${SRC[@]}"
	# the rows are gone: the next combine indexes afresh, warns no more, writes the same
	expect 0 "$name: combine again" -- "$MLDEDUP" combine -q --store "$S" -o "$T/$name.2.mlpackage" "${SRC[@]}"
	eq "$name: no warning the second time" "$(cat "$T/err")" ""
	eq "$name: second output" "$(pkghash "$T/$name.2.mlpackage")" "$REF"
}

N=layers_0_mlp_up_proj_weight_palettized
# 1. the anchor's blob digest is not its bytes': caught by the hash of the blob as it is written
lie digest "UPDATE weight_blobs SET digest = zeroblob(16) WHERE weight_id = $(wid "$A" "$N") AND seq = 0"

# 2. a weight that must never be shared claims the anchor's encoding and blob digests:
#    caught when the blobs are compared (their pair was never compared before)
D=layers_1_self_attn_o_proj_weight_palettized
COPY="UPDATE weight_blobs SET digest = (SELECT a.digest FROM weight_blobs a WHERE a.weight_id = $(wid "$A" "$D")
	AND a.seq = weight_blobs.seq) WHERE weight_id = $(wid "$B" "$D");
UPDATE weights SET encoding_digest = (SELECT encoding_digest FROM weights WHERE id = $(wid "$A" "$D"))
	WHERE id = $(wid "$B" "$D");"
lie member "$COPY"

# 3. the same, and a recorded byte match says the pairs were compared and equal:
#    caught by the spot check of recorded matches
MATCH="INSERT INTO blob_matches SELECT pa.id, ba.file, ba.offset, pb.id, bb.file, bb.offset, ba.digest
	FROM weight_blobs ba JOIN weight_blobs bb ON bb.weight_id = $(wid "$B" "$D") AND bb.seq = ba.seq
	JOIN packages pa ON pa.path = '$A' JOIN packages pb ON pb.path = '$B' WHERE ba.weight_id = $(wid "$A" "$D");"
WARM=1 lie match "$COPY $MATCH"

# 5. a weight that must never be shared claims the anchor's content digest (issue 9: the
#    combine shared it as deq_identical and wrote the wrong values): the share by value
#    is checked against the values before it counts
CONTENT="UPDATE weights SET content_digest = (SELECT content_digest FROM weights WHERE id = $(wid "$A" "$D"))
	WHERE id = $(wid "$B" "$D")"
lie content "$CONTENT"
# 6. the same after a first combine (decisions are in the store, keyed by content)
WARM=1 lie content-warm "$CONTENT"
# 7. the anchor's content digest made the member's
lie anchor-content "UPDATE weights SET content_digest = (SELECT content_digest FROM weights WHERE id = $(wid "$B" "$D"))
	WHERE id = $(wid "$A" "$D")"

# 4. align reads the same claims: over a lying digest it warns and writes what a
#    store-less align writes, and nothing before its bytes are checked
expect 0 "reference: align without a store" -- "$MLDEDUP" align -q --no-store --anchor "$A" -o "$T/ref.aligned.mlpackage" "$B"
S=$T/align.db
"$MLDEDUP" index -q --store "$S" "$A" "$B" || bad "align: index"
sqlite3 "$S" "UPDATE weight_blobs SET digest = zeroblob(16) WHERE weight_id = $(wid "$A" "$N") AND seq = 0" || bad "align: sqlite3"
expect 0 "align over a lying row" "do not match its bytes" -- \
	"$MLDEDUP" align -q --store "$S" --anchor "$A" -o "$T/aligned.mlpackage" "$B"
eq "align: output equals the store-less one" "$(pkghash "$T/aligned.mlpackage")" "$(pkghash "$T/ref.aligned.mlpackage")"
finish
