"$MLDEDUP" index --store "$W/s.db"
