"$MLDEDUP" stats --json --rows --store "$W/s.db" | "$MLDTEST" json format
