"$MLDEDUP" index --store "$W/s.db" --stamp s "$W/a.mlpackage" "$W/b.mlpackage"
