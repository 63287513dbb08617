#!/usr/bin/env bash
# fixtures_zip: fixture packages zipped (as "X.mlpackage/...", with a Finder
# "__MACOSX/" shadow tree, and under a folder prefix "dir/sub/X.mlpackage/...") give
# the same `mldedup ls` (table and --json) and the same `mldedup cat` bytes for every
# weight as the directory, and index like it.
source "$(dirname "$0")/lib.sh"
need_fixtures

mapfile -t ALL < <(fixture_packages)
# One of each weight form: iOS18 LUT, iOS16 LUT, blockwise int4, plain fp16.
PICK=()
for pat in '/chunked/toy_prefill_lut4_chunk_01of02' '/ios16/toy_FFN_ios16_lut6_chunk_02of02' \
	'/blockwise/toy_prefill_int4_chunk_02of02' '/dense/toy_FFN_chunk_01of02' '/multictx/ctx2048/toy_prefill'; do
	for p in "${ALL[@]}"; do
		case $p in *"$pat"*) PICK+=("$p"); break ;; esac
	done
done
[ ${#PICK[@]} -ge 3 ] || PICK=("${ALL[@]:0:3}")
echo "zipping ${#PICK[@]} fixture packages"

n=0
for dir in "${PICK[@]}"; do
	n=$((n + 1))
	base=$(basename "$dir")
	case $((n % 3)) in
	1) zip=$T/plain$n.zip; "$MLDTEST" mkzip "$zip" "$dir" ;;
	2) zip=$T/macosx$n.zip; "$MLDTEST" mkzip "$zip" --macosx "$dir" ;;
	0) zip=$T/nested$n.zip; "$MLDTEST" mkzip "$zip" --prefix dir/sub/ "$dir" ;;
	esac
	[ -s "$zip" ] || { bad "$base: no zip made"; continue; }

	"$MLDEDUP" ls "$dir" >"$T/ls.dir" 2>"$T/err" || bad "$base: ls of the directory failed"
	"$MLDEDUP" ls --no-header "$dir" >"$T/ls.rows" 2>/dev/null
	expect 0 "$base: ls of $(basename "$zip")" -- "$MLDEDUP" ls "$zip"
	cmp -s "$T/out" "$T/ls.dir" && ok || bad "$base: ls of $(basename "$zip") differs from the directory's"
	# the same document but for "package", the path given
	"$MLDEDUP" ls --json "$dir" 2>/dev/null | grep -v '^ "package": ' >"$T/lsj.dir"
	expect 0 "$base: ls --json of the zip" -- "$MLDEDUP" ls --json "$zip"
	eq "$base: ls --json of the zip names it" "$(grep -c "^ \"package\": \"$zip\"" "$T/out")" 1
	grep -v '^ "package": ' "$T/out" | cmp -s - "$T/lsj.dir" && ok ||
		bad "$base: ls --json of $(basename "$zip") differs from the directory's"

	weights=0
	while IFS=$'\t' read -r fn name _; do
		a=$("$MLDEDUP" cat "$dir" "$fn" "$name" | sha256)
		b=$("$MLDEDUP" cat "$zip" "$fn" "$name" 2>"$T/err" | sha256)
		if [ "$a" = "$b" ] && ! sanitizer_report; then ok; else bad "$base: cat $fn $name differs in the zip"; fi
		weights=$((weights + 1))
	done <"$T/ls.rows"
	[ "$weights" -gt 0 ] && ok || bad "$base: no weights listed"

	expect 0 "$base: index the zip" -- "$MLDEDUP" index --json --store "$T/s.db" "$zip"
	eq "$base: zip weights indexed" "$("$MLDTEST" json weights "$T/out")" "$weights"
	eq "$base: zip weights unsupported" "$("$MLDTEST" json unsupported "$T/out")" 0
	echo "$base: $(basename "$zip"): $weights weights identical to the directory"
done

finish
