# a file that is neither a package directory nor a zip
echo hello >"$W/x.txt"; "$MLDEDUP" ls "$W/x.txt"
