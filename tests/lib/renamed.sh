#!/usr/bin/env bash
# A near-copy under another name is still found (by shape + sketch) and verified:
# rename one micro-noise weight of the chunked prefill package, combine, and check
# the report says deq_close against the anchor's weight of the old name.
# usage: renamed.sh RENAME MLDEDUP FIXTURES WORKDIR
set -euo pipefail
rename=$1 mldedup=$2 fx=$3 work=$4
if [ ! -d "$fx/chunked" ]; then
	echo "SKIP: fixtures not found at $fx"
	exit 77
fi
rm -rf "$work" && mkdir -p "$work"
old=layers_0_mlp_gate_proj_weight_palettized new=totally_renamed_gate
"$rename" "$fx/chunked/toy_prefill_lut6_chunk_01of02.mlpackage" "$work/pf.mlpackage" "$old" "$new"
"$mldedup" ls --no-digest "$work/pf.mlpackage" | grep -q "$new" || { echo "FAIL: rename did not happen"; exit 1; }
"$mldedup" combine -q --no-store -o "$work/out.mlpackage" --report "$work/r.csv" \
	infer="$fx/chunked/toy_FFN_lut6_chunk_01of02.mlpackage" prefill="$work/pf.mlpackage"
row=$(grep "^prefill,$new," "$work/r.csv")
case "$row" in
*",deq_close,infer,$old,infer,$old,"*) echo "ok: $new found as a near-copy of infer:$old" ;;
*) echo "FAIL: $row"; exit 1 ;;
esac
"$mldedup" verify -q "$work/out.mlpackage" infer="$fx/chunked/toy_FFN_lut6_chunk_01of02.mlpackage" prefill="$work/pf.mlpackage"
