# a build step: the stamp and the depfile
"$MLDEDUP" index --store "$W/s.db" --stamp "$W/a.stamp" --depfile "$W/a.d" "$W/a.mlpackage" && cat "$W/a.stamp" "$W/a.d"
