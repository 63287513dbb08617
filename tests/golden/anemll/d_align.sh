# align: the prefill rewritten so that every shareable weight carries the anchor's bytes
"$MLDEDUP" align --no-store --anchor "$W/toy/toy_FFN_lut6_chunk_01of01.mlpackage" -o "$W/aligned.mlpackage" \
	"$W/toy/toy_prefill_lut6_chunk_01of01.mlpackage" && "$MLDEDUP" verify -q "$W/aligned.mlpackage" \
	main="$W/toy/toy_prefill_lut6_chunk_01of01.mlpackage" && echo "aligned copy verifies against its source"
