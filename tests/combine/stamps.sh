#!/usr/bin/env bash
# combine_stamps: the build stamp combine writes from its plan, without reading its
# output back, equals the one `index --stamp` computes for that output, with and
# without a store: for every fixture group, cold, warm, without a store and --zip
# (see combine_check.c). Then the same through the CLI for one group.
source "$(dirname "$0")/lib.sh"
need_fixtures
"$COMBINE_CHECK" stamps "$F" "$T" || bad "combine_check stamps"

C=$F/chunked
SRC=(infer="$C/toy_FFN_lut6_chunk_01of02.mlpackage" prefill="$C/toy_prefill_lut6_chunk_01of02.mlpackage")
expect 0 "combine --stamp" -- "$MLDEDUP" combine -q --store "$T/cli.db" --stamp "$T/c.stamp" -o "$T/cli.mlpackage" "${SRC[@]}"
expect 0 "index --stamp of the output" -- "$MLDEDUP" index -q --store "$T/cli.db" --stamp "$T/i.stamp" "$T/cli.mlpackage"
cmp -s "$T/c.stamp" "$T/i.stamp" && ok || bad "combine --stamp differs from index --stamp"
touch_at 946684800 "$T/c.stamp" # 2000-01-01
touch_at 946684800 "$T/old"
expect 0 "combine --stamp again" -- "$MLDEDUP" combine -q --store "$T/cli.db" --stamp "$T/c.stamp" -o "$T/cli.mlpackage" "${SRC[@]}"
[ "$T/c.stamp" -nt "$T/old" ] && bad "an unchanged stamp was rewritten" || ok
expect 2 "--stamp with --dry-run" "not with --anemll or --dry-run" -- "$MLDEDUP" combine -q --dry-run --stamp "$T/d.stamp" \
	-o "$T/d.mlpackage" "${SRC[@]}"
finish
