# the generated build.ninja: an index edge per package, a combine per output, check, regenerate
"$MLDEDUP" ninja --store "$W/s.db" "$W/toy" -o "$W/build.ninja" && cat "$W/build.ninja"
