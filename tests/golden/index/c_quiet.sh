# silent on success
"$MLDEDUP" index --store "$W/s.db" "$W/a.mlpackage"
