#!/usr/bin/env bash
# cli_kill_index: an index killed (SIGKILL) at any moment of its first milliseconds leaves
# either no store or a sound one: never an empty store without a schema (fsck said "32
# problems") or a hot journal a read-only open cannot repair ("attempt to write a readonly
# database"). A new store is created in a temp and linked into place whole; the temp of a
# killed index is removed by the next one. Also: an empty file fails fsck with one problem,
# and unreadable stores say why (issue 9).
source "$(dirname "$0")/lib.sh"

GOOD=$T/good.mlpackage
"$MLDTEST" mkpkg "$GOOD" --second-fn || { echo "FAIL: mldtest mkpkg"; exit 1; }
S=$T/k/s.db
mkdir -p "$T/k"

# after_kill WHAT: fsck is silent (a sound store) or says the store does not exist
after_kill() {
	run "$MLDEDUP" fsck --store "$S"
	if [ "$RC" -eq 0 ] && [ ! -s "$T/out" ] && [ ! -s "$T/err" ]; then
		ok
	elif [ "$RC" -eq 1 ] && [ ! -s "$T/out" ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "No such file or directory ('mldedup index' creates it)" "$T/err"; then
		ok
	else
		bad "$1: fsck after the kill: exit $RC: $(cat "$T/out" "$T/err" | head -3)"
	fi
	run "$MLDEDUP" stats --store "$S"
	[ "$RC" -eq 0 ] || grep -q "No such file" "$T/err" && ok || bad "$1: stats after the kill: $(head -2 "$T/err")"
	expect 0 "$1: index after the kill" -- "$MLDEDUP" index -q --store "$S" "$GOOD"
	expect 0 "$1: fsck after a new index" -- "$MLDEDUP" fsck --store "$S"
	left=$(ls -A "$T/k" | grep mldtmp || true)
	eq "$1: temps left after a new index" "$left" ""
}

# a sweep of kill times over the first milliseconds
for ms in 0 1 2 3 4 5 6 8 10 12 15 20 25 30 40 60; do
	rm -rf "$T/k" && mkdir -p "$T/k"
	"$MLDEDUP" index -q --store "$S" "$GOOD" &
	pid=$!
	sleep "$(printf '0.%03d' "$ms")"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	after_kill "kill after ${ms} ms"
done
# killed for sure while the new store is a complete temp (the commit waits there)
rm -rf "$T/k" && mkdir -p "$T/k"
MLD_TEST_COMMIT_DELAY_MS=3000 "$MLDEDUP" index -q --store "$S" "$GOOD" &
pid=$!
for _ in $(seq 100); do ls -A "$T/k" | grep -q mldtmp && break; sleep 0.05; done
sleep 0.3
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ ! -e "$S" ] && ok || bad "a store appeared before its creation committed"
after_kill "kill before the store is linked"

# killed between linking the new store into place and removing its temp: the store is
# whole, and the temp (a dead pid's) goes with the next open of the store, which is not a
# creation (the window is microseconds wide; the temp is planted to hit it every time)
rm -rf "$T/k" && mkdir -p "$T/k"
expect 0 "a store for the planted temp" -- "$MLDEDUP" index -q --store "$S" "$GOOD"
sh -c 'exit 0' &
dead=$!
wait "$dead"
cp "$S" "$T/k/.s.db.mldtmp-$dead-AbC123"
: >"$T/k/.other.db.mldtmp-$dead-AbC123" # another target's: not this store's to remove
expect 0 "index after a kill between link and unlink" -- "$MLDEDUP" index -q --store "$S" "$GOOD"
[ ! -e "$T/k/.s.db.mldtmp-$dead-AbC123" ] && ok || bad "the temp of a creator killed after the link stays"
[ -e "$T/k/.other.db.mldtmp-$dead-AbC123" ] && ok || bad "another target's temp was removed"
rm -f "$T/k/.other.db.mldtmp-$dead-AbC123"

# an empty file (what an index killed before its first commit used to leave): one problem
: >"$T/empty.db"
expect 1 "fsck of an empty file" "1 problem" -- "$MLDEDUP" fsck --store "$T/empty.db"
grep -q "no schema" "$T/out" && [ "$(wc -l <"$T/out")" -eq 1 ] && ok || bad "fsck of an empty file: $(head -3 "$T/out")"

# unreadable stores say why, not only "unable to open database file"
mkdir -p "$T/dir.db"
expect 1 "store that is a directory" "it is a directory, not a store file" -- "$MLDEDUP" stats --store "$T/dir.db"
expect 1 "index into a store that is a directory" "it is a directory, not a store file" -- "$MLDEDUP" index --store "$T/dir.db" "$GOOD"
expect 1 "store under a file" "Manifest.json is not a directory" -- "$MLDEDUP" index --store "$GOOD/Manifest.json/s.db" "$GOOD"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
else
	as_nobody() { "$@"; }
fi
if [ "$(id -u)" != 0 ] || command -v setpriv >/dev/null; then
	mkdir -p "$T/p" && chmod 755 "$T" "$T/p" "$T/k" && chmod -R a+rX "$GOOD"
	cp "$S" "$T/p/s.db" && chmod 600 "$T/p/s.db"
	[ "$(id -u)" = 0 ] && chown 0 "$T/p/s.db"
	HOME=/nonexistent expect 1 "unreadable store" "cannot read it: Permission denied" -- as_nobody "$MLDEDUP" stats --store "$T/p/s.db"
	chmod 644 "$T/p/s.db"
	HOME=/nonexistent expect 1 "store not writable" "cannot write it: Permission denied" -- as_nobody "$MLDEDUP" index --store "$T/p/s.db" "$GOOD"
	HOME=/nonexistent expect 1 "store in a directory not writable" "cannot create it in $T/p: Permission denied" -- \
		as_nobody "$MLDEDUP" index --store "$T/p/new.db" "$GOOD"
	HOME=/nonexistent expect 1 "read-only open without its -shm" "cannot create its -wal and -shm files in $T/p" -- \
		as_nobody "$MLDEDUP" stats --store "$T/p/s.db"
fi
finish
