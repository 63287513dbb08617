"$MLDEDUP" cat "$(pkg synth.mlpackage --seed 0)" nofn w_dense
