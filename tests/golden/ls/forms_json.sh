"$MLDEDUP" ls --forms --json "$(pkg allops.mlpackage --seed 0 --all-ops)"
