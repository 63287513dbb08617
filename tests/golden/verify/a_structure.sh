# structure only
"$MLDEDUP" verify "$W/out.mlpackage"
