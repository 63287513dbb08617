"$MLDEDUP" explain --store "$W/s.db" "$W/nope.mlpackage" f w
