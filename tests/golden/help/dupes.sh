# the help of `mldedup dupes`, generated from its option table
"$MLDEDUP" dupes --help
