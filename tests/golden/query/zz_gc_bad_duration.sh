"$MLDEDUP" gc --store "$W/s.db" --older-than 30
