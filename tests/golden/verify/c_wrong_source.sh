# the wrong source for a function: every differing weight is a FAIL line, exit 1
"$MLDEDUP" verify -q "$W/out.mlpackage" infer="$W/toy/toy_prefill_lut6_chunk_01of01.mlpackage" 2>&1 | sort | head -5
exit "${PIPESTATUS[0]}"
