"$MLDEDUP" combine --no-store -o "$W/x.mlpackage" 1nfer="$W/toy/toy_FFN_lut6_chunk_01of01.mlpackage"
