"$MLDEDUP" stats --store "$W/none/s.db"
