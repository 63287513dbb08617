# the help of `mldedup fsck`, generated from its option table
"$MLDEDUP" fsck --help
