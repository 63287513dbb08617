#!/usr/bin/env bash
# usage: stream_digest.sh CHECKER TOYGEN FIXTURES WORKDIR
set -euo pipefail
checker=$1 toygen=$2 fixtures=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
# toy exports: LUT6 and LUT4, scalar palettes grouped along the output axis
"$toygen" -q -o "$work/lut6" --chunks 1 --layers 2
"$toygen" -q -o "$work/lut4" --chunks 1 --layers 2 --lut-bits 4 --group-size 4
# every decode path: uint8 indices, and runs that do not keep whole index bytes
# (an in-dim of 130 with uint6, 131 with uint4) so the unfused loop runs too
"$toygen" -q -o "$work/lut8" --chunks 1 --layers 2 --lut-bits 8 --group-size 2
"$toygen" -q -o "$work/odd6" --chunks 1 --layers 2 --hidden 84 --heads 6 --intermediate 130 --group-size 2
"$toygen" -q -o "$work/odd4" --chunks 1 --layers 2 --lut-bits 4 --intermediate 131 --group-size 1
"$checker" "$work"/lut6/*.mlpackage "$work"/lut4/*.mlpackage "$work"/lut8/*.mlpackage "$work"/odd6/*.mlpackage \
	"$work"/odd4/*.mlpackage
if [ -d "$fixtures" ]; then
	"$checker" $(find "$fixtures" -name '*.mlpackage' -type d -prune | sort)
else
	echo "SKIP (fixture part): fixtures not found at $fixtures"
fi
# verification's streamed comparison equals mld_tensor_compare on decoded tensors,
# grouped and alone, whatever the form (the toy exports' LUTs, every fixture set)
cmp=$(dirname "$checker")/mld-compare
"$cmp" "$work"/lut6/toy_FFN_lut6_chunk_01of01.mlpackage "$work"/lut6/toy_prefill_lut6_chunk_01of01.mlpackage
"$cmp" "$work"/odd6/toy_FFN_lut6_chunk_01of01.mlpackage "$work"/odd6/toy_prefill_lut6_chunk_01of01.mlpackage
"$cmp" "$work"/odd4/toy_FFN_lut4_chunk_01of01.mlpackage "$work"/odd4/toy_prefill_lut4_chunk_01of01.mlpackage
if [ -d "$fixtures" ]; then
	for pair in chunked/toy_%s_lut6_chunk_01of02 chunked/toy_%s_lut4_chunk_02of02 dense/toy_%s_chunk_01of02 \
		blockwise/toy_%s_int4_chunk_01of02 blockwise/toy_%s_int8_chunk_02of02 ios16/toy_%s_ios16_lut6_chunk_01of02 \
		ios16/toy_%s_ios17_lut4_chunk_02of02; do
		"$cmp" "$fixtures/$(printf "$pair" FFN).mlpackage" "$fixtures/$(printf "$pair" prefill).mlpackage"
	done
	"$cmp" "$fixtures"/multictx/ctx512/toy_FFN_lut6_chunk_01of01.mlpackage \
		$(ls -d "$fixtures"/multictx/ctx*/*.mlpackage | grep -v ctx512/toy_FFN)
	MLD_CPU=scalar "$cmp" "$fixtures"/multictx/ctx512/toy_FFN_lut6_chunk_01of01.mlpackage \
		"$fixtures"/multictx/ctx1024/toy_prefill_lut6_chunk_01of01.mlpackage
fi
# the toy exports also survive read -> write -> read byte for byte
"$(dirname "$checker")/mld-roundtrip" "$work" "$work"/lut6/*.mlpackage "$work"/lut4/*.mlpackage
