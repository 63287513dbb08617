#!/usr/bin/env bash
# ctest toygen_small: generate the small preset (and a small multi-context set),
# then check with `mldedup ls` that every package and zip reads, that every
# planned weight is listed, that each planned relation shows up (exact: same
# values and bytes; permute: same values, other bytes; micro/different: other
# values; shape_mismatch: other shape), and that output is reproducible.
# Needs bash and coreutils only.
#
# usage: toygen_test.sh TOYGEN MLDEDUP WORKDIR
set -u
source "$(dirname "$0")/../tests/portable.sh"
TOYGEN=$1 MLDEDUP=$2 W=$3
rm -rf "$W" && mkdir -p "$W" || exit 1
export MLDEDUP_STORE="$W/store.db" # ls never needs it; keep the user's store out anyway

FAIL=0
bad() {
	echo "FAIL: $*" >&2
	FAIL=$((FAIL + 1))
}

gen() { # gen DIR ARGS...: run the generator quietly
	local dir=$1
	shift
	"$TOYGEN" -q -o "$dir" "$@" || bad "mldedup-toygen $* exited with $?"
}

# name<TAB>shape<TAB>content digest per weight of package $1 (ls succeeded or FAIL).
listing() {
	"$MLDEDUP" ls --no-header "$1" >"$W/ls.out" 2>"$W/ls.err" || { bad "ls $1: $(cat "$W/ls.err")"; return 1; }
	awk -F'\t' '{ print $2 "\t" $5 "\t" $7 }' "$W/ls.out"
}

# name<TAB>sha256 of the stored bytes of every blob the weight uses, in order.
stored() {
	local pkg=$1 bin=$1/Data/com.apple.CoreML/weights/weight.bin name off size
	"$MLDEDUP" ls --json --no-digest "$pkg" |
		awk '/^   "name":/ { gsub(/[",]/, "", $2); name = $2 }
		     /"data_offset":/ { gsub(/,/, "", $2); off = $2 }
		     /"size":/ { gsub(/,/, "", $2); print name, off, $2 }' |
		while read -r name off size; do
			printf '%s\t' "$name"
			tail -c +$((off + 1)) "$bin" | head -c "$size" | sha256 | cut -c1-64
		done | awk -F'\t' '{ h[$1] = h[$1] $2 } END { for (n in h) print n "\t" h[n] }' | LC_ALL=C sort
}

field() { awk -F'\t' -v n="$2" -v c="$3" '$1 == n { print $c }' "$1"; }

# Every package dir and zip lists cleanly and names every planned weight.
check_listings() {
	local dir=$1 pkg
	while IFS= read -r pkg; do
		listing "$dir/$pkg" >"$W/cache.$(echo "$pkg" | tr / _).ls" || continue
		stored "$dir/$pkg" >"$W/cache.$(echo "$pkg" | tr / _).bytes"
		if [ -e "$dir/$pkg.zip" ]; then
			listing "$dir/$pkg.zip" >"$W/zip.ls" &&
				{ cmp -s "$W/zip.ls" "$W/cache.$(echo "$pkg" | tr / _).ls" || bad "$pkg.zip lists differently"; }
		fi
	done < <(awk -F'\t' 'NR > 1 { print $1 }' "$dir/toygen.tsv" | LC_ALL=C sort -u)
	local found
	found=$(find "$dir" -name '*.mlpackage' -prune | wc -l)
	[ "$found" -eq "$(awk -F'\t' 'NR > 1 { print $1 }' "$dir/toygen.tsv" | sort -u | wc -l)" ] ||
		bad "$dir: toygen.tsv does not name all $found packages"
}

check_relations() {
	local dir=$1 pkg anchor weight rel c
	while IFS=$'\t' read -r pkg anchor weight rel; do
		local L=$W/cache.$(echo "$pkg" | tr / _) A=$W/cache.$(echo "$anchor" | tr / _)
		local d da s sa h ha
		d=$(field "$L.ls" "$weight" 3) da=$(field "$A.ls" "$weight" 3)
		s=$(field "$L.ls" "$weight" 2) sa=$(field "$A.ls" "$weight" 2)
		h=$(field "$L.bytes" "$weight" 2) ha=$(field "$A.bytes" "$weight" 2)
		[ -n "$d" ] || { bad "$pkg: $weight is not listed"; continue; }
		case $rel in
		anchor) [ "$pkg" == "$anchor" ] || bad "$pkg: anchor row for a non-anchor" ;;
		exact) [ "$d" == "$da" ] && [ "$h" == "$ha" ] || bad "$pkg: $weight should be an exact copy" ;;
		permute) [ "$d" == "$da" ] && [ "$h" != "$ha" ] || bad "$pkg: $weight should be a permuted copy" ;;
		micro | different) [ "$s" == "$sa" ] && [ "$d" != "$da" ] || bad "$pkg: $weight should differ ($rel)" ;;
		shape_mismatch) [ "$s" != "$sa" ] || bad "$pkg: $weight should change shape" ;;
		*) bad "$pkg: unknown relation '$rel'" ;;
		esac
	done < <(awk -F'\t' 'NR > 1' "$dir/toygen.tsv")
	for rel in exact permute micro different; do
		c=$(awk -F'\t' -v r="$rel" '$4 == r' "$dir/toygen.tsv" | wc -l)
		[ "$c" -gt 0 ] || bad "$dir: the plan has no '$rel' weight"
	done
}

gen "$W/small" --preset small --zip
gen "$W/multi" --preset small --layers 2 --chunks 1 --lut-bits 4 --prefill-len 16 --contexts 64,128
for d in small multi; do
	[ -s "$W/$d/toygen.json" ] && [ -s "$W/$d/toygen.tsv" ] || { bad "$d: no toygen.json/tsv"; continue; }
	check_listings "$W/$d"
	check_relations "$W/$d"
done
grep -q shape_mismatch "$W/multi/toygen.tsv" || bad "multi: RoPE tables should change shape across contexts"

# Same options, same bytes (packages and the JSON; zips carry a fixed mtime too).
gen "$W/again" --preset small --zip --jobs 1
diff -r "$W/small" "$W/again" >/dev/null || bad "a second run (one thread) wrote different files"

# Usage errors exit 2.
"$TOYGEN" --hidden 64 >/dev/null 2>&1
[ $? -eq 2 ] || bad "missing -o should exit 2"
"$TOYGEN" -o "$W/x" --lut-bits 5 >/dev/null 2>&1
[ $? -eq 2 ] || bad "--lut-bits 5 should exit 2"

if [ "$FAIL" -ne 0 ]; then
	echo "$FAIL check(s) failed" >&2
	exit 1
fi
echo "toygen_small: all checks passed"
