# the command list
"$MLDEDUP" --help
