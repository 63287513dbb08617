# against the sources, --json
"$MLDEDUP" verify --json "$W/out.mlpackage" infer="$W/toy/toy_FFN_lut6_chunk_01of01.mlpackage" \
	prefill="$W/toy/toy_prefill_lut6_chunk_01of01.mlpackage"
