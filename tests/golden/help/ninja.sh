# the help of `mldedup ninja`, generated from its option table
"$MLDEDUP" ninja --help
