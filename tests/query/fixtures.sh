#!/usr/bin/env bash
# query_fixtures: a store of every fixture package, the four chunked groups combined.
# The numbers must be those the fixtures' answer files imply: weights, distinct contents
# and encodings and weight-file bytes from the ref files; every exact / dequant_identical
# pair of expected.json in one dupes group, no different / shape_mismatch / near pair in
# one; the chunked near pairs among the verified near-duplicates; explain giving each
# chunked weight the reason its relation calls for. JSON and text outputs agree.
source "$(dirname "$0")/../cli/lib.sh"
: "${QTEST:?QTEST must name the qtest helper}"
need_fixtures
F=$(realpath "$MLD_FIXTURES_DIR")
S=$T/store.db
mapfile -t PKGS < <(fixture_packages)
REFS=("${PKGS[@]/%.mlpackage/.ref.json}")
q() { "$MLDEDUP" "$1" --store "$S" "${@:2}"; }
jget() { "$QTEST" get "$T/out" "$@"; }

expect 0 "index the fixtures" -- "$MLDEDUP" index --store "$S" "${PKGS[@]}"
CHUNKS=(lut6_chunk_01of02 lut6_chunk_02of02 lut4_chunk_01of02 lut4_chunk_02of02)
for g in "${CHUNKS[@]}"; do
	expect 0 "combine $g" -- "$MLDEDUP" combine -q --store "$S" -o "$T/$g.mlpackage" \
		infer="$F/chunked/toy_FFN_$g.mlpackage" prefill="$F/chunked/toy_prefill_$g.mlpackage"
done

# ---- stats: the ref files' numbers --------------------------------------------------------------
expect 0 "stats --json" -- q stats --json
cp "$T/out" "$T/stats.json"
st() { "$QTEST" get "$T/stats.json" "$1"; }
"$QTEST" ref content "${REFS[@]}" >"$T/ref_contents"
"$QTEST" ref encoding "${REFS[@]}" >"$T/ref_encodings"
eq "stats: packages" "$(st packages)" "${#PKGS[@]}"
eq "stats: functions" "$(st functions)" "${#PKGS[@]}"
eq "stats: weights" "$(st weights)" "$(wc -l <"$T/ref_contents")"
eq "stats: distinct contents" "$(st contents)" "$(sort -u "$T/ref_contents" | wc -l)"
eq "stats: distinct encodings" "$(st encodings)" "$(sort -u "$T/ref_encodings" | wc -l)"
eq "stats: weight file bytes" "$(st weight_file_bytes)" "$("$QTEST" ref file_bytes "${REFS[@]}")"
eq "stats: unsupported" "$(st unsupported)" 0
eq "stats: outputs" "$(st outputs)" "${#CHUNKS[@]}"
eq "stats: decisions by outcome" "$(($(st decisions_deq_close) + $(st decisions_rejected)))" "$(st decisions)"
eq "stats: savings" "$(st savings)" "$(($(st weight_bytes) - $(st content_bytes)))"
eq "stats: nothing unreferenced" "$(st unreferenced_contents) $(st unreferenced_encodings)" "0 0"
[ "$(st content_bytes)" -le "$(st encoding_bytes)" ] && [ "$(st encoding_bytes)" -le "$(st weight_bytes)" ] &&
	ok || bad "stats: one copy per content <= per encoding <= every occurrence"
expect 0 "stats --json --rows" -- q stats --json --rows
cp "$T/out" "$T/rows.json"
expect 0 "stats" -- q stats
n=$("$QTEST" get "$T/rows.json" 'stats.#')
eq "stats --json: one key per row, and format" "$("$QTEST" keys "$T/stats.json" | wc -l)" "$((n + 1))"
for ((i = 0; i < n; i++)); do # the text has every statistic, in order, from the same table
	label=$("$QTEST" get "$T/rows.json" "stats.$i.label")
	id=$("$QTEST" get "$T/rows.json" "stats.$i.id")
	eq "stats --json and --rows agree on $id" "$("$QTEST" get "$T/rows.json" "stats.$i.value")" "$(st "$id")"
	eq "stats text line $i" "$(sed -n "$((i + 1))p" "$T/out" | cut -c1-${#label})" "$label"
done
eq "stats text: packages" "$(grep '^packages ' "$T/out" | tr -s ' ')" "packages $(st packages)"
expect 0 "stats -v" -- q stats -v
eq "stats -v: a row per package" "$(grep -c '\.mlpackage .* ok$' "$T/out")" "${#PKGS[@]}"

# ---- packages and functions --------------------------------------------------------------------------
expect 0 "packages" -- q packages
eq "packages: header" "$(head -1 "$T/out")" \
	$'id\tpath\tkind\tspec_version\tfunctions\tweights\tweight_bytes\tweight_file_bytes\tindexed\tstatus'
eq "packages: paths" "$(tail -n +2 "$T/out" | cut -f2)" "$(printf '%s\n' "${PKGS[@]}" | xargs realpath | LC_ALL=C sort)"
eq "packages: all ok" "$(tail -n +2 "$T/out" | cut -f10 | sort -u)" ok
expect 0 "packages --json" -- q packages --json
eq "packages --json: rows" "$(jget 'packages.#')" "${#PKGS[@]}"
P=$F/chunked/toy_FFN_lut6_chunk_01of02.mlpackage
eq "packages --json: one row" "$(jget "packages.[path=$P].weights" "packages.[path=$P].status")" \
	"$("$QTEST" ref content "${P%.mlpackage}.ref.json" | wc -l)"$'\nok'
expect 0 "functions PKG" -- q functions --json chunked/toy_FFN_lut6_chunk_01of02.mlpackage
eq "functions: the package's one function" "$(jget 'functions.#' functions.0.package functions.0.function functions.0.contents)" \
	$'1\n'"$P"$'\nmain\n'"$("$QTEST" ref content "${P%.mlpackage}.ref.json" | sort -u | wc -l)"
expect 0 "functions by id" -- q functions --no-header "$(q packages --json | "$QTEST" get /dev/stdin "packages.[path=$P].id")"
eq "functions by id: the same package" "$(cut -f1,2 "$T/out")" "$P"$'\tmain'
expect 2 "functions: ambiguous" "matches several packages" "ctx512/toy_FFN_lut6_chunk_01of01.mlpackage" -- \
	q functions toy_FFN_lut6_chunk_01of01.mlpackage
expect 0 "functions: all" -- q functions --no-header
eq "functions: all" "$(wc -l <"$T/out")" "${#PKGS[@]}"

# ---- dupes against expected.json ---------------------------------------------------------------------------
for e in "$F"/*/expected.json; do "$QTEST" pairs "$e"; done >"$T/pairs"
[ "$(wc -l <"$T/pairs")" -gt 100 ] && ok || bad "expected.json gave few pairs"
expect 0 "dupes --json" -- q dupes --json
cp "$T/out" "$T/dupes.json"
"$QTEST" groups "$T/dupes.json" >"$T/groups"
"$QTEST" near "$T/dupes.json" >"$T/near"
expect 0 "weight digests" -- q sql --no-header \
	"SELECT package || ':' || function || ':' || name, content_digest FROM q1_weights"
declare -A D G NEAR
while IFS=$'\t' read -r w d; do D[$w]=$d; done <"$T/out"
while IFS=$'\t' read -r d w; do G[$w]=$d; done <"$T/groups"
while IFS=$'\t' read -r a b; do NEAR[$a:$b]=1 NEAR[$b:$a]=1; done <"$T/near"
declare -A WANT_REASON=([exact]=identical [dequant_identical]=deq_identical [near]=deq_close [different]=rejected_threshold)
while IFS=$'\t' read -r rel group fn name a b; do
	[ -n "${D[$a]:-}" ] && [ -n "${D[$b]:-}" ] || { bad "$a or $b not in the store"; continue; }
	case $rel in
	exact | dequant_identical)
		[ -n "${G[$a]:-}" ] && [ "${G[$a]}" == "${G[$b]:-}" ] && ok || bad "$rel pair not in one dupes group: $a $b" ;;
	*)
		[ "${D[$a]}" != "${D[$b]}" ] && ok || bad "$rel pair has one content: $a $b" ;;
	esac
	[ -f "$T/$group.mlpackage/Manifest.json" ] || continue # combined: the chunked groups
	case $rel in
	near) [ -n "${NEAR[${D[$a]}:${D[$b]}]:-}" ] && ok || bad "near pair not among the near-duplicates: $b" ;;
	*) [ -z "${NEAR[${D[$a]}:${D[$b]}]:-}" ] && ok || bad "$rel pair among the near-duplicates: $b" ;;
	esac
	run q explain --json "$T/$group.mlpackage" "$fn" "$name"
	eq "explain $group $fn:$name ($rel)" "$RC $(jget reason)" "0 ${WANT_REASON[$rel]:-rejected_shape}"
done <"$T/pairs"
eq "near-duplicates: as many as verified" "$(wc -l <"$T/near")" "$(st decisions_deq_close)"
eq "dupes: savings as stats" "$("$QTEST" get "$T/dupes.json" savings)" "$(st savings)"
n=$("$QTEST" get "$T/dupes.json" groups.#)
eq "dupes: groups as the views count them" "$n" "$(q sql --no-header "SELECT count(*) FROM (SELECT 1 FROM q1_weights
	WHERE content_digest IS NOT NULL GROUP BY content_digest HAVING count(*) > 1)")"
[ "$("$QTEST" get "$T/dupes.json" groups.0.savings)" -ge "$("$QTEST" get "$T/dupes.json" groups.$((n - 1)).savings)" ] &&
	ok || bad "dupes: not largest savings first"
for across in functions packages; do
	expect 0 "dupes --across $across" -- q dupes --json --across "$across"
	eq "dupes --across $across: groups" "$(jget groups.#)" "$(q sql --no-header "SELECT count(*) FROM (SELECT 1
		FROM q1_weights GROUP BY content_digest HAVING count(DISTINCT ${across%s}_id) > 1)")"
done
expect 0 "dupes --min-bytes 100k" -- q dupes --json --min-bytes 100k
m=$(jget groups.#)
[ "$m" -gt 0 ] && [ "$m" -lt "$n" ] && [ "$(jget groups.$((m - 1)).savings)" -ge 100000 ] && ok ||
	bad "dupes --min-bytes 100k: $m of $n groups"
expect 0 "dupes" -- q dupes
eq "dupes text: headline" "$(head -1 "$T/out" | cut -d: -f1)" "duplicate contents"
eq "dupes text: every weight of every group" "$(grep -c '^            /' "$T/out")" "$(wc -l <"$T/groups")"

# ---- show ------------------------------------------------------------------------------------------
IFS=$'\t' read -r _ _ _ _ A B < <(grep "^dequant_identical"$'\t'"lut6_chunk_01of02"$'\t' "$T/pairs")
expect 0 "show PKG:FUNC:NAME" -- q show --json "$B"
eq "show: the content" "$(jget digest)" "${D[$B]}"
eq "show: its occurrences" "$(jget occurrences.#)" "$(grep -c "	${D[$B]}\$" <(for w in "${!D[@]}"; do printf '%s\t%s\n' "$w" "${D[$w]}"; done))"
eq "show: a permuted palette is a second encoding" "$(jget encodings.#)" 2
eq "show: written to the combined package" "$(jget "outputs.[reason=deq_identical].function")" prefill
expect 0 "show by digest prefix" -- q show --json "${D[$B]:0:8}"
eq "show by prefix: the same content" "$(jget digest)" "${D[$B]}"
IFS=$'\t' read -r _ _ _ _ A B < <(grep "^near"$'\t'"lut6_chunk_01of02"$'\t' "$T/pairs" | head -1)
expect 0 "show a near copy" -- q show --json "$B"
eq "show: the decision" "$(jget "decisions.[other=${D[$A]}].outcome")" deq_close
expect 0 "show text" -- q show "$B"
grep -q '^decisions (verification against other contents): 1$' "$T/out" && ok || bad "show text: decisions"
expect 1 "show: no such weight" "has no weight main:nope" -- q show "$P:main:nope"

# ---- explain text ----------------------------------------------------------------------------------
expect 0 "explain text" -- q explain "$T/lut6_chunk_01of02.mlpackage" prefill "${B##*:}"
grep -q '^  reason     deq_close: ' "$T/out" && grep -q '^  cos .*(>= 0.9999: ok)$' "$T/out" && ok ||
	bad "explain text: $(cat "$T/out")"
expect 1 "explain: no such weight" "has no weight 'nope'" -- q explain "$T/lut6_chunk_01of02.mlpackage" prefill nope

# ---- stale and missing ----------------------------------------------------------------------------------
S2=$T/small.db
cp -r "$P" "$T/copy.mlpackage"
expect 0 "index a copy" -- "$MLDEDUP" index --store "$S2" "$T/copy.mlpackage"
status() { "$MLDEDUP" packages --no-header --store "$S2" | cut -f10; }
eq "copy: ok" "$(status)" ok
touch -t 200101010000 "$T/copy.mlpackage/Data/com.apple.CoreML/weights/weight.bin"
eq "copy touched: stale" "$(status)" stale
mv "$T/copy.mlpackage" "$T/moved.mlpackage"
eq "copy moved: missing" "$(status)" missing
finish
