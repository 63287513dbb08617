# no command: the usage on stderr, exit 2
"$MLDEDUP"
