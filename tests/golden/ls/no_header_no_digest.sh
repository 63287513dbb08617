"$MLDEDUP" ls --no-header --no-digest "$(pkg synth.mlpackage --seed 0)"
