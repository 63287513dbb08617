# each setting, its value and its origin: here the default, then a directory file
cd "$HOME" && "$MLDEDUP" config
printf "# a comment\nstore = here.db\n" >"$HOME/mldedup.conf"
"$MLDEDUP" config
"$MLDEDUP" config --json
rm -f "$HOME/mldedup.conf"
