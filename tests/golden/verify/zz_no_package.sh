"$MLDEDUP" verify
