# generating again changes nothing (the file keeps its bytes)
"$MLDEDUP" ninja --store "$W/s.db" "$W/toy" -o "$W/build.ninja" && echo unchanged
