# the help of `mldedup config`, generated from its option table
"$MLDEDUP" config --help
