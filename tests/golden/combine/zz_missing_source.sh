"$MLDEDUP" combine --no-store -o "$W/x.mlpackage" a="$W/nope.mlpackage"
