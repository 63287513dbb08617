# a mistyped command gets a suggestion
"$MLDEDUP" idnex x
