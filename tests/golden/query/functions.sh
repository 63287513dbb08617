"$MLDEDUP" functions --store "$W/s.db" toy_FFN_lut6_chunk_01of01.mlpackage
