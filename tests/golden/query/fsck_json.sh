"$MLDEDUP" fsck --json --store "$W/s.db"
