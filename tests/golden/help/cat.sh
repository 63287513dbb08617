# the help of `mldedup cat`, generated from its option table
"$MLDEDUP" cat --help
