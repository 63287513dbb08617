"$MLDEDUP" index --store "$W/s.db" --depfile x.d "$W/a.mlpackage"
