# the help of `mldedup combine`, generated from its option table
"$MLDEDUP" combine --help
