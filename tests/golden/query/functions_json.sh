"$MLDEDUP" functions --json --store "$W/s.db"
