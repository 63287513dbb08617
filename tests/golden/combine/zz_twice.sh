"$MLDEDUP" combine --no-store -o "$W/x.mlpackage" a="$W/toy/toy_FFN_lut6_chunk_01of01.mlpackage" a="$W/toy/toy_prefill_lut6_chunk_01of01.mlpackage"
