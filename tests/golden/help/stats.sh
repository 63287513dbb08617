# the help of `mldedup stats`, generated from its option table
"$MLDEDUP" stats --help
