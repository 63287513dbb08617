"$MLDEDUP" explain --store "$W/s.db" "$W/out.mlpackage" prefill layers_0_mlp_up_proj_weight_palettized | untime
