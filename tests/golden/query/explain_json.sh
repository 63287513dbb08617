"$MLDEDUP" explain --json --store "$W/s.db" "$W/out.mlpackage" prefill layers_1_mlp_down_proj_weight_palettized | untime
