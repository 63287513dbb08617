# an option without its argument
"$MLDEDUP" combine -o
