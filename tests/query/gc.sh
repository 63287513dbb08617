#!/usr/bin/env bash
# query_gc: gc removes exactly what it should. Two fixture packages (infer and prefill
# of one chunk, copied) are indexed and combined; the prefill copy is deleted; gc
# --missing (first as a dry run, which changes nothing) must forget that package, its
# weights, the contents and encodings only it had (computed from the ref files) and every
# decision about them, and nothing else. Then a deleted output, --older-than, and two gc
# at once.
source "$(dirname "$0")/../cli/lib.sh"
: "${QTEST:?QTEST must name the qtest helper}"
need_fixtures
C=$MLD_FIXTURES_DIR/chunked
A=$T/a/toy_FFN_lut6_chunk_01of02.mlpackage B=$T/b/toy_prefill_lut6_chunk_01of02.mlpackage
mkdir -p "$T/a" "$T/b" && cp -r "$C/${A##*/}" "$A" && cp -r "$C/${B##*/}" "$B" || { echo "FAIL: cannot copy"; exit 1; }
RA=$C/toy_FFN_lut6_chunk_01of02.ref.json RB=$C/toy_prefill_lut6_chunk_01of02.ref.json
S=$T/store.db
q() { "$MLDEDUP" "$1" --store "$S" "${@:2}"; }
st() { q stats --json | "$QTEST" get /dev/stdin "$1"; }
removed() { "$QTEST" get "$T/out" "removed.[id=$1].value"; }
only_b() { comm -13 <("$QTEST" ref "$1" "$RA" | sort -u) <("$QTEST" ref "$1" "$RB" | sort -u) | wc -l; }

expect 0 "index" -- q index "$A" "$B"
expect 0 "combine" -- q combine -q -o "$T/out.mlpackage" infer="$A" prefill="$B"
DECISIONS=$(st decisions)
[ "$DECISIONS" -gt 0 ] && ok || bad "the combine left no decisions"
eq "before: packages" "$(st packages)" 2
rm -rf "$B"

# -q silences the table (issue 9: it still printed it); --json still prints its document
expect 0 "gc -q --dry-run" -- q gc -q --missing --dry-run
eq "gc -q: stdout" "$(cat "$T/out")" ""
eq "gc -q: stderr" "$(cat "$T/err")" ""
expect 0 "gc -q --json --dry-run" -- q gc -q --json --missing --dry-run
grep -q '"dry_run": true' "$T/out" && ok || bad "gc -q --json printed no document"
expect 0 "gc --missing --dry-run" -- q gc --missing --dry-run --json
eq "dry run: says so" "$("$QTEST" get "$T/out" dry_run)" true
eq "dry run: the package" "$("$QTEST" get "$T/out" packages.# packages.0.path)" $'1\n'"$(realpath "$T/b")/${B##*/}"
DRY=$(cat "$T/out")
eq "dry run: nothing removed" "$(st packages) $(st decisions)" "2 $DECISIONS"

expect 0 "gc --missing" -- q gc --missing --json
eq "gc: the same as the dry run, but real" "$(sed 's/"dry_run": false/"dry_run": true/' "$T/out")" "$DRY"
eq "gc: packages" "$(removed packages)" 1
eq "gc: functions" "$(removed functions)" 1
eq "gc: weights" "$(removed weights)" "$("$QTEST" ref content "$RB" | wc -l)"
eq "gc: contents only the prefill had" "$(removed contents)" "$(only_b content)"
eq "gc: encodings only the prefill had" "$(removed encodings)" "$(only_b encoding)"
eq "gc: every decision (each is about a prefill content)" "$(removed decisions)" "$DECISIONS"
eq "gc: the output still exists" "$(removed outputs) $("$QTEST" get "$T/out" outputs.#)" "0 0"
[ "$(removed weight_bytes)" -gt 0 ] && [ "$(removed store_bytes)" -gt 0 ] && ok || bad "gc: no bytes freed"
eq "after: packages" "$(st packages)" 1
eq "after: contents" "$(st contents)" "$("$QTEST" ref content "$RA" | sort -u | wc -l)"
eq "after: encodings" "$(st encodings)" "$("$QTEST" ref encoding "$RA" | sort -u | wc -l)"
eq "after: nothing unreferenced" "$(st unreferenced_contents) $(st unreferenced_encodings) $(st decisions)" "0 0 0"
expect 0 "fsck after gc" -- q fsck
expect 0 "gc text" -- q gc --missing
grep -q '^removed:$' "$T/out" && grep -q '^packages  *0$' "$T/out" && ok || bad "gc text: $(cat "$T/out")"

rm -rf "$T/out.mlpackage"
expect 0 "gc --missing: a deleted output" -- q gc --missing --json
eq "gc: the output" "$(removed outputs) $(removed packages)" "1 0"
eq "after: outputs" "$(st outputs)" 0

expect 0 "gc --older-than 1d" -- q gc --older-than 1d --json
eq "gc --older-than 1d: nothing" "$(removed packages)" 0
sleep 1
expect 0 "gc --older-than 0s --dry-run" -- q gc --older-than 0s --dry-run
grep -qF "would forget $(realpath "$T/a")/${A##*/}" "$T/out" && ok || bad "gc --older-than 0s: $(cat "$T/out")"

# Indexing an unchanged package counts as seeing it: it is not "old" any more.
expect 0 "index again (unchanged)" -- q index "$A"
expect 0 "gc --older-than 5s right after" -- q gc --older-than 5s --json
eq "gc --older-than 5s: a package just seen stays" "$(removed packages)" 0
sleep 1
# Two at once: one transaction waits for the other; both succeed, the store stays sound.
q gc --older-than 0s >"$T/gc1" 2>&1 &
q gc --older-than 0s >"$T/gc2" 2>&1
gc2=$?
wait $!
eq "concurrent gc" "$? $gc2" "0 0"
eq "concurrent gc: gone" "$(st packages)" 0
expect 0 "fsck after concurrent gc" -- q fsck
finish
