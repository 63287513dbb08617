#!/usr/bin/env bash
# cli_parallel_index: 8 `mldedup index` processes started at once on one fresh store,
# over overlapping package lists in different orders. All must exit 0, and the store
# must be consistent afterwards: one row set per package, every weight recorded once,
# integrity and foreign keys intact, and another index run finds everything unchanged.
# Synthetic packages (and a zip); the fixture packages too when present.
source "$(dirname "$0")/lib.sh"

PKGS=()
WEIGHTS=0
for i in 1 2 3 4 5 6; do
	args=(--seed "$i")
	[ $((i % 2)) = 0 ] && args+=(--second-fn)
	"$MLDTEST" mkpkg "$T/p$i.mlpackage" "${args[@]}" || { echo "FAIL: mkpkg"; exit 1; }
	PKGS+=("$T/p$i.mlpackage")
	WEIGHTS=$((WEIGHTS + ($i % 2 == 0 ? 9 : 7)))
done
"$MLDTEST" mkpkg "$T/zz.mlpackage" --seed 7 && "$MLDTEST" mkzip "$T/z.zip" "$T/zz.mlpackage" && rm -rf "$T/zz.mlpackage"
PKGS+=("$T/z.zip")
WEIGHTS=$((WEIGHTS + 7))
if [ -d "${MLD_FIXTURES_DIR:-}" ]; then
	mapfile -t FIX < <(fixture_packages)
	for f in "${FIX[@]}"; do
		n=$("$MLDEDUP" ls --no-header --no-digest "$f" | wc -l) || { echo "FAIL: ls $f"; exit 1; }
		WEIGHTS=$((WEIGHTS + n))
	done
	PKGS+=("${FIX[@]}")
	echo "indexing ${#PKGS[@]} packages (${#FIX[@]} fixtures) in 8 processes"
else
	echo "note: fixtures not found at ${MLD_FIXTURES_DIR:-<unset>}; synthetic packages only"
fi
N=${#PKGS[@]}
S=$T/store.db

# Process k indexes the list rotated by k; odd k take every package, even k skip
# every third one, so the sets overlap without being equal.
pids=()
for k in 0 1 2 3 4 5 6 7; do
	list=()
	for ((j = 0; j < N; j++)); do
		idx=$(((j + k * 3) % N))
		if [ $((k % 2)) = 0 ] && [ $((idx % 3)) = 2 ]; then continue; fi
		list+=("${PKGS[$idx]}")
	done
	"$MLDEDUP" index --json --store "$S" "${list[@]}" >"$T/out.$k" 2>"$T/err.$k" &
	pids+=($!)
done
for k in 0 1 2 3 4 5 6 7; do
	wait "${pids[$k]}"
	rc=$?
	if [ $rc -eq 0 ] && ! grep -qE 'Sanitizer|runtime error:' "$T/err.$k"; then
		ok
	else
		bad "index process $k exited $rc"
		sed 's/^/    stderr: /' "$T/err.$k" | head -20 >&2
	fi
	"$MLDTEST" json unsupported "$T/out.$k" | grep -qx 0 && ok || bad "process $k: unsupported weights"
done

sql() { "$MLDTEST" sql "$S" "$1"; }
eq "packages rows" "$(sql 'SELECT count(*) FROM packages')" "$N"
eq "distinct package paths" "$(sql 'SELECT count(DISTINCT path) FROM packages')" "$N"
eq "weights rows" "$(sql 'SELECT count(*) FROM weights')" "$WEIGHTS"
eq "weights without content" "$(sql 'SELECT count(*) FROM weights WHERE content_digest IS NULL')" 0
eq "functions without a package" \
	"$(sql 'SELECT count(*) FROM functions WHERE package_id NOT IN (SELECT id FROM packages)')" 0
eq "weights without a function" \
	"$(sql 'SELECT count(*) FROM weights WHERE function_id NOT IN (SELECT id FROM functions)')" 0
eq "weights whose content is not recorded" \
	"$(sql 'SELECT count(*) FROM weights w WHERE NOT EXISTS (SELECT 1 FROM contents c WHERE c.digest = w.content_digest)')" 0
eq "weights whose encoding is not recorded" \
	"$(sql 'SELECT count(*) FROM weights w WHERE NOT EXISTS (SELECT 1 FROM encodings e WHERE e.digest = w.encoding_digest)')" 0
eq "blobs without a weight" \
	"$(sql 'SELECT count(*) FROM weight_blobs WHERE weight_id NOT IN (SELECT id FROM weights)')" 0
eq "integrity_check" "$(sql 'PRAGMA integrity_check')" ok
eq "foreign_key_check" "$(sql 'PRAGMA foreign_key_check')" ""
eq "journal_mode" "$(sql 'PRAGMA journal_mode')" wal

expect 0 "index again" -- "$MLDEDUP" index --json --store "$S" "${PKGS[@]}"
eq "index again: packages_unchanged" "$("$MLDTEST" json packages_unchanged "$T/out")" "$N"
eq "index again: packages_indexed" "$("$MLDTEST" json packages_indexed "$T/out")" 0
eq "index again: bytes_read" "$("$MLDTEST" json bytes_read "$T/out")" 0

# A second wave: the same 8 processes on the now-complete store only read identities.
pids=()
for k in 0 1 2 3 4 5 6 7; do
	"$MLDEDUP" index --json --store "$S" "${PKGS[@]}" >"$T/out.$k" 2>"$T/err.$k" &
	pids+=($!)
done
for k in 0 1 2 3 4 5 6 7; do
	wait "${pids[$k]}" && ok || bad "second wave: process $k failed: $(head -3 "$T/err.$k")"
	eq "second wave: process $k unchanged" "$("$MLDTEST" json packages_unchanged "$T/out.$k")" "$N"
done
eq "weights rows after the second wave" "$(sql 'SELECT count(*) FROM weights')" "$WEIGHTS"

finish
