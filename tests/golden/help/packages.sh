# the help of `mldedup packages`, generated from its option table
"$MLDEDUP" packages --help
