"$MLDEDUP" packages --json --store "$W/s.db" | untime
