#!/usr/bin/env bash
# cli_index: `mldedup index` into a temp store. The first run indexes; a second run
# reads nothing (-v says "unchanged, not read" per package, --json shows bytes_read 0
# and weights_decoded 0); touching or replacing a file forces a re-index; the store
# location follows --store > $MLDEDUP_STORE > $XDG_CACHE_HOME > $HOME; the store is
# SQLite in WAL mode. Synthetic packages; the fixtures too when present.
source "$(dirname "$0")/lib.sh"

A=$T/a.mlpackage B=$T/b.mlpackage C=$T/c.mlpackage Z=$T/z.zip
"$MLDTEST" mkpkg "$A" --seed 1 && "$MLDTEST" mkpkg "$B" --seed 2 --second-fn &&
	"$MLDTEST" mkpkg "$C" --seed 3 && "$MLDTEST" mkzip "$Z" "$C" && rm -rf "$C" ||
	{ echo "FAIL: cannot make the synthetic packages"; exit 1; }
PKGS=("$A" "$B" "$Z")
WEIGHTS=$((7 + 9 + 7)) # a: 7 weights, b: 7 in main + 2 in prefill, the zip: 7
S=$T/store.db

# jf KEY: member KEY of the JSON object in $T/out
jf() { "$MLDTEST" json "$1" "$T/out"; }
sql() { "$MLDTEST" sql "$S" "$1"; }

# ---- first run: everything is read -----------------------------------------------------
expect 0 "first index" -- "$MLDEDUP" index --json --store "$S" "${PKGS[@]}"
eq "first run: packages_indexed" "$(jf packages_indexed)" 3
eq "first run: packages_unchanged" "$(jf packages_unchanged)" 0
eq "first run: weights" "$(jf weights)" $WEIGHTS
eq "first run: weights_decoded" "$(jf weights_decoded)" $WEIGHTS
eq "first run: unsupported" "$(jf unsupported)" 0
[ "$(jf bytes_read)" -gt 0 ] && ok || bad "first run read no bytes"
[ "$(jf new_contents)" -gt 0 ] && ok || bad "first run recorded no contents"
eq "first run: --json names the store" "$(jf store)" "$S"
[ ! -s "$T/err" ] && ok || bad "first run without -v printed to stderr: $(cat "$T/err")"

# ---- the store: SQLite, WAL, the expected rows -------------------------------------------
eq "store file is SQLite" "$(head -c 15 "$S")" "SQLite format 3"
eq "journal_mode" "$(sql 'PRAGMA journal_mode')" wal
eq "packages rows" "$(sql 'SELECT count(*) FROM packages')" 3
eq "functions rows" "$(sql 'SELECT count(*) FROM functions')" 4
eq "weights rows" "$(sql 'SELECT count(*) FROM weights')" $WEIGHTS
eq "package kinds" "$(sql 'SELECT group_concat(kind) FROM (SELECT kind FROM packages ORDER BY kind)')" "dir,dir,zip"
eq "weights without content" "$(sql 'SELECT count(*) FROM weights WHERE content_digest IS NULL')" 0
eq "integrity_check" "$(sql 'PRAGMA integrity_check')" ok
# w_dense, w_dense_copy (and b's prefill w_dense) share one content per package
eq "shared content within a package" \
	"$(sql "SELECT count(DISTINCT content_digest) FROM weights WHERE name IN ('w_dense','w_dense_copy')")" 3

# ---- second run: nothing read ----------------------------------------------------------------
expect 0 "second index" -- "$MLDEDUP" index -v --json --store "$S" "${PKGS[@]}"
eq "second run: packages_indexed" "$(jf packages_indexed)" 0
eq "second run: packages_unchanged" "$(jf packages_unchanged)" 3
eq "second run: bytes_read" "$(jf bytes_read)" 0
eq "second run: weights_decoded" "$(jf weights_decoded)" 0
for p in "${PKGS[@]}"; do
	grep -qF "$p: unchanged, not read" "$T/err" && ok || bad "second run -v does not say '$p: unchanged, not read'"
done
eq "second run: one line per package plus the summary" "$(grep -c 'unchanged, not read' "$T/err")" 3
eq "rows unchanged after the second run" "$(sql 'SELECT count(*) FROM weights')" $WEIGHTS

# Paths are resolved: another spelling of the same package is the same package.
expect 0 "index through another path spelling" -- "$MLDEDUP" index --json --store "$S" "$T/./a.mlpackage/"
eq "another spelling: unchanged" "$(jf packages_unchanged)" 1

# ---- changes force a re-index of that package only ----------------------------------------------
later() { touch_at "$(($(date +%s) + $1))" "$2"; }
reindexed() { # reindexed DESCRIPTION PKG: only PKG is read again
	expect 0 "$1" -- "$MLDEDUP" index -v --json --store "$S" "${PKGS[@]}"
	eq "$1: packages_indexed" "$(jf packages_indexed)" 1
	eq "$1: packages_unchanged" "$(jf packages_unchanged)" 2
	grep -qF "$2: indexed" "$T/err" && ok || bad "$1: -v does not say '$2: indexed'"
	[ "$(jf bytes_read)" -gt 0 ] && ok || bad "$1: nothing read"
	eq "$1: rows not duplicated" "$(sql 'SELECT count(*) FROM weights')" $WEIGHTS
	eq "$1: packages rows" "$(sql 'SELECT count(*) FROM packages')" 3
}
later 100 "$A/Data/com.apple.CoreML/weights/weight.bin"
reindexed "touching weight.bin" "$A"

later 200 "$B/Data/com.apple.CoreML/model.mlmodel"
reindexed "touching model.mlmodel" "$B"

later 300 "$A/Manifest.json"
reindexed "touching Manifest.json" "$A"

# Same size and mtime, new inode: the file was replaced.
F=$B/Data/com.apple.CoreML/weights/weight.bin
cp -p "$F" "$T/w.tmp" && mv "$T/w.tmp" "$F"
reindexed "replacing weight.bin (same size and mtime)" "$B"

# Replaced by different content: re-indexed and recorded anew.
old=$(sql "SELECT hex(content_digest) FROM weights WHERE name = 'w_f32' AND function_id IN
           (SELECT f.id FROM functions f JOIN packages p ON p.id = f.package_id WHERE p.path LIKE '%/a.mlpackage')")
"$MLDTEST" mkpkg "$T/a2.mlpackage" --seed 11
rm -rf "$A" && mv "$T/a2.mlpackage" "$A"
reindexed "replacing the whole package" "$A"
new=$(sql "SELECT hex(content_digest) FROM weights WHERE name = 'w_f32' AND function_id IN
           (SELECT f.id FROM functions f JOIN packages p ON p.id = f.package_id WHERE p.path LIKE '%/a.mlpackage')")
[ -n "$new" ] && [ "$old" != "$new" ] && ok || bad "new content of a replaced package not recorded ($old -> $new)"

later 400 "$Z"
reindexed "touching the zip" "$Z"

expect 0 "all unchanged again" -- "$MLDEDUP" index --json --store "$S" "${PKGS[@]}"
eq "all unchanged again" "$(jf packages_unchanged)" 3

# -q: nothing on stderr; exit 0
expect 0 "index -q" -- "$MLDEDUP" index -q --store "$S" "${PKGS[@]}"
[ ! -s "$T/err" ] && [ ! -s "$T/out" ] && ok || bad "index -q printed something"

# ---- where the store is ---------------------------------------------------------------------------
expect 0 "MLDEDUP_STORE" -- env MLDEDUP_STORE="$T/env.db" "$MLDEDUP" index --json "$A"
eq "MLDEDUP_STORE: store used" "$(jf store)" "$T/env.db"
[ -s "$T/env.db" ] && ok || bad "MLDEDUP_STORE: $T/env.db not created"
eq "MLDEDUP_STORE: indexed" "$(jf packages_indexed)" 1
expect 0 "MLDEDUP_STORE again" -- env MLDEDUP_STORE="$T/env.db" "$MLDEDUP" index --json "$A"
eq "MLDEDUP_STORE again: unchanged" "$(jf packages_unchanged)" 1

expect 0 "--store beats MLDEDUP_STORE" -- env MLDEDUP_STORE="$T/env.db" "$MLDEDUP" index --json --store "$T/opt.db" "$A"
eq "--store beats MLDEDUP_STORE" "$(jf store)" "$T/opt.db"
eq "--store beats MLDEDUP_STORE: indexed" "$(jf packages_indexed)" 1

expect 0 "XDG_CACHE_HOME" -- env XDG_CACHE_HOME="$T/xdg" "$MLDEDUP" index --json "$A"
eq "XDG_CACHE_HOME: store used" "$(jf store)" "$T/xdg/mldedup/store.db"
[ -s "$T/xdg/mldedup/store.db" ] && ok || bad "XDG_CACHE_HOME: store not created"

expect 0 "HOME" -- "$MLDEDUP" index --json "$A"
eq "HOME: store used" "$(jf store)" "$HOME/.cache/mldedup/store.db"
[ -s "$HOME/.cache/mldedup/store.db" ] && ok || bad "HOME: store not created"

expect 1 "no store location at all" "no store location" -- env -u HOME -u XDG_CACHE_HOME "$MLDEDUP" index "$A"

expect 0 "store in a directory that does not exist yet" -- \
	"$MLDEDUP" index --json --store "$T/new/dir/s.db" "$A"
[ -s "$T/new/dir/s.db" ] && ok || bad "store directory not created"

# ---- the fixtures, when present: every package indexes, none unsupported; then unchanged ----------
if [ -d "${MLD_FIXTURES_DIR:-}" ]; then
	mapfile -t FIX < <(fixture_packages)
	expect 0 "index the fixtures" -- "$MLDEDUP" index --json --store "$T/fix.db" "${FIX[@]}"
	eq "fixtures: packages_indexed" "$(jf packages_indexed)" ${#FIX[@]}
	eq "fixtures: unsupported" "$(jf unsupported)" 0
	eq "fixtures: every weight decoded" "$(jf weights_decoded)" "$(jf weights)"
	expect 0 "index the fixtures again" -- "$MLDEDUP" index -v --json --store "$T/fix.db" "${FIX[@]}"
	eq "fixtures again: packages_unchanged" "$(jf packages_unchanged)" ${#FIX[@]}
	eq "fixtures again: bytes_read" "$(jf bytes_read)" 0
	eq "fixtures again: weights_decoded" "$(jf weights_decoded)" 0
	eq "fixtures again: -v lines" "$(grep -c 'unchanged, not read' "$T/err")" ${#FIX[@]}
else
	echo "note: fixtures not found at ${MLD_FIXTURES_DIR:-<unset>}; synthetic packages only"
fi

finish
