# one row per weight: function, name, chain, dtype, shape, encoded bytes, content digest
"$MLDEDUP" ls "$(pkg synth.mlpackage --seed 0)"
