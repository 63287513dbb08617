# the help of `mldedup ls`, generated from its option table
"$MLDEDUP" ls --help
