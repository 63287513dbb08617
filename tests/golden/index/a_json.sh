# first index: everything is read; --json is one object
"$MLDEDUP" index --json --store "$W/s.db" "$(pkg a.mlpackage --seed 1)" "$(pkg b.mlpackage --seed 2 --second-fn)" | untime
