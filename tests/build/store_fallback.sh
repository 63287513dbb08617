#!/usr/bin/env bash
# A store problem never breaks a build step: 'index --stamp' with an unusable store
# warns and writes the same stamp and depfile it writes with a good store.
# usage: store_fallback.sh MLDEDUP TOYGEN WORKDIR
set -euo pipefail
mldedup=$1 toygen=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
"$toygen" -q -o "$work/export" --chunks 1 --layers 2
pkg=$(ls -d "$work"/export/*FFN*.mlpackage | head -1)
"$mldedup" index -q --store "$work/good.db" --stamp "$work/good.stamp" --depfile "$work/good.d" --depfile-target T "$pkg"
echo "this is not a database" >"$work/bad.db"
"$mldedup" index -q --store "$work/bad.db" --stamp "$work/bad.stamp" --depfile "$work/bad.d" --depfile-target T "$pkg" \
	2>"$work/err" || { echo "FAIL: index --stamp failed on a bad store"; cat "$work/err"; exit 1; }
grep -q "warning: .*not a database.*writing the stamp without the store" "$work/err" ||
	{ echo "FAIL: no warning naming the problem: $(cat "$work/err")"; exit 1; }
cmp "$work/good.stamp" "$work/bad.stamp" || { echo "FAIL: the stamps differ"; exit 1; }
cmp "$work/good.d" "$work/bad.d" || { echo "FAIL: the depfiles differ"; exit 1; }
# without --stamp, index is about the store: a bad one is a failure
if "$mldedup" index -q --store "$work/bad.db" "$pkg" 2>/dev/null; then
	echo "FAIL: plain index succeeded on a bad store"
	exit 1
fi
echo "ok: a bad store degrades a build step to a store-less stamp, identical to the store's"
