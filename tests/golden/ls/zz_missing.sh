# a package that does not exist
"$MLDEDUP" ls "$W/none.mlpackage"
