# the help of `mldedup gc`, generated from its option table
"$MLDEDUP" gc --help
