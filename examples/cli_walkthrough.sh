#!/usr/bin/env bash
# The CLI by hand on a fresh machine: install dependencies, build, write a
# toy ANEMLL-style export (2 chunks x infer/prefill, LUT6), combine every chunk into
# one multifunction package with shared weights, verify, and show what was shared.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
build=build-example
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" >/dev/null
work=${1:-$build/example}
rm -rf "$work" && mkdir -p "$work"
mldedup=$build/mldedup
echo "== 1. a toy export: $work/export" >&2
"$build/examples/mldedup-toygen" -q -o "$work/export" --chunks 2 --hidden 128 --intermediate 512
ls "$work/export" >&2
echo "== 2. index the exports into the store" >&2
"$mldedup" index -v --store "$work/store.db" "$work"/export/*.mlpackage
echo "== 3. combine each chunk's infer + prefill into one multifunction package" >&2
"$mldedup" combine --store "$work/store.db" --anemll "$work/export" -o "$work"
echo "== 4. verify every function against its source" >&2
for n in 01 02; do
	"$mldedup" verify "$work/toy_FFN_PF_lut6_chunk_${n}of02.mlpackage" \
		infer="$work/export/toy_FFN_lut6_chunk_${n}of02.mlpackage" \
		prefill="$work/export/toy_prefill_lut6_chunk_${n}of02.mlpackage"
done
echo "== 5. the weights of chunk 1's combined package" >&2
"$mldedup" ls --no-digest "$work/toy_FFN_PF_lut6_chunk_01of02.mlpackage" | head -8
echo "== 6. again: nothing is re-read, every decision is reused" >&2
"$mldedup" combine --store "$work/store.db" --anemll "$work/export" -o "$work"
