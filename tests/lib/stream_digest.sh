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
# the toy exports also survive read -> write -> read byte for byte
"$(dirname "$checker")/mld-roundtrip" "$work" "$work"/lut6/*.mlpackage "$work"/lut4/*.mlpackage
