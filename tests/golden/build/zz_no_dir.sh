"$MLDEDUP" ninja "$W/none" -o "$W/b.ninja"
