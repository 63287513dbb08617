"$MLDEDUP" dupes --store "$W/s.db"
