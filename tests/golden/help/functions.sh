# the help of `mldedup functions`, generated from its option table
"$MLDEDUP" functions --help
