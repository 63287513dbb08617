# the help of `mldedup anemll`, generated from its option table
"$MLDEDUP" anemll --help
