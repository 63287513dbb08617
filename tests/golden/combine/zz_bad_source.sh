"$MLDEDUP" combine -o "$W/x.mlpackage" "$W/toy/toy_FFN_lut6_chunk_01of01.mlpackage"
