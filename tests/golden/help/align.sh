# the help of `mldedup align`, generated from its option table
"$MLDEDUP" align --help
