"$MLDEDUP" sql --json --store "$W/s.db" "SELECT count(*) AS n, 1 AS one FROM q1_weights"
