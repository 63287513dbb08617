"$MLDEDUP" gc --dry-run --missing --store "$W/s.db"
