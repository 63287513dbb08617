# the help of `mldedup verify`, generated from its option table
"$MLDEDUP" verify --help
