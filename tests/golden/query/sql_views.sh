"$MLDEDUP" sql --store "$W/s.db" | grep "^CREATE VIEW" | cut -d" " -f3
