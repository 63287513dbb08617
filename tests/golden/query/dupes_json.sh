"$MLDEDUP" dupes --json --store "$W/s.db" --min-bytes 1k
