# again: nothing is read, -v says so, and lists the statistics table
"$MLDEDUP" index -v --store "$W/s.db" "$W/a.mlpackage" "$W/b.mlpackage" 2>&1 | untime
