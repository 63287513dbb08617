"$MLDEDUP" cat "$(pkg synth.mlpackage --seed 0)" main no_such_weight
