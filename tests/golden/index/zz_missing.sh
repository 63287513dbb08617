"$MLDEDUP" index --store "$W/s.db" "$W/none.mlpackage"
