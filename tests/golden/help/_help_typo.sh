# help for a mistyped command
"$MLDEDUP" help combien
