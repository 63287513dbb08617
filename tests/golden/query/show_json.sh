"$MLDEDUP" show --json --store "$W/s.db" "$W/toy/toy_prefill_lut6_chunk_01of01.mlpackage:main:layers_0_mlp_up_proj_weight_palettized" | untime
