# the help of `mldedup explain`, generated from its option table
"$MLDEDUP" explain --help
