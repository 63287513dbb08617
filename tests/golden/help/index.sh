# the help of `mldedup index`, generated from its option table
"$MLDEDUP" index --help
