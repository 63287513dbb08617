"$MLDEDUP" cat "$(pkg synth.mlpackage --seed 0)" main
