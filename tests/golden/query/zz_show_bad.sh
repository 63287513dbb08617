"$MLDEDUP" show --store "$W/s.db" xyz
