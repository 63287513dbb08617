# the help of `mldedup make`, generated from its option table
"$MLDEDUP" make --help
