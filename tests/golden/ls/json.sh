# {format, package, weights: [...]} with every blob
"$MLDEDUP" ls --json "$(pkg synth.mlpackage --seed 0)"
