# -v adds the statistics table
"$MLDEDUP" combine -v --no-store -o "$W/out2.mlpackage" infer="$W/toy/toy_FFN_lut6_chunk_01of01.mlpackage" \
	prefill="$W/toy/toy_prefill_lut6_chunk_01of01.mlpackage"
