"$MLDEDUP" packages --store "$W/s.db" | untime
