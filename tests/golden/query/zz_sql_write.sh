"$MLDEDUP" sql --store "$W/s.db" "DELETE FROM packages"
