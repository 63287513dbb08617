# the store in numbers (its size on disk varies and is left out)
"$MLDEDUP" stats --store "$W/s.db" | grep -v "^store size"
