#!/usr/bin/env bash
# flip_weight.sh MLDEDUP PKG NAME: change one value of the plain fp16 weight NAME of a toygen
# package in place: the lowest bit of its 101st value (a finite value stays finite). Flipping
# again restores it. Used by build.sh and bench/build_bench.sh.
set -eu
MLDEDUP=$1 pkg=$2 name=$3
off=$("$MLDEDUP" ls --json --no-digest "$pkg" |
	awk -v n="\"name\": \"$name\"" 'index($0, n) { f = 1 } f && /"data_offset"/ { gsub(/[^0-9]/, ""); print; exit }')
[ -n "$off" ] || { echo "flip_weight.sh: no weight $name in $pkg" >&2; exit 1; }
off=$((off + 200))
w=$pkg/Data/com.apple.CoreML/weights/weight.bin
b=$(od -An -tu1 -j "$off" -N1 "$w" | tr -d ' ')
printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$w" bs=1 seek="$off" conv=notrunc 2>/dev/null
