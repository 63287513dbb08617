# the help of `mldedup sql`, generated from its option table
"$MLDEDUP" sql --help
