# the version
"$MLDEDUP" --version
