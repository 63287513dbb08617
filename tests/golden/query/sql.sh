"$MLDEDUP" sql --store "$W/s.db" "SELECT function, name, reason FROM q1_output_weights ORDER BY function, name LIMIT 8"
