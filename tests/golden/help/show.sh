# the help of `mldedup show`, generated from its option table
"$MLDEDUP" show --help
