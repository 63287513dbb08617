# one object keyed by id
"$MLDEDUP" stats --json --store "$W/s.db" | grep -v '"store_bytes"'
