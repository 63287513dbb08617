# the same listing from a zip of the package
"$MLDTEST" mkzip "$W/synth.zip" "$(pkg synth.mlpackage --seed 0)" && "$MLDEDUP" ls "$W/synth.zip"
