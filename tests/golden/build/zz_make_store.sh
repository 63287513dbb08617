"$MLDEDUP" make --store x.db "$W/toy" -o "$W/m.mk"
