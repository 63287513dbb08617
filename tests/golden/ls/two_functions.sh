"$MLDEDUP" ls "$(pkg synth2.mlpackage --seed 0 --second-fn)"
