"$MLDEDUP" verify "$W/none.mlpackage"
