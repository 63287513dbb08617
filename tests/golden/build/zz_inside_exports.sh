"$MLDEDUP" ninja "$W/toy" -o "$W/toy/build.ninja"
