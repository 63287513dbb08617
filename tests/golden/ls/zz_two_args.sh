"$MLDEDUP" ls a b
