# help COMMAND equals COMMAND --help
"$MLDEDUP" help verify
