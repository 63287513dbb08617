# the completeness report: one row per op chain
"$MLDEDUP" ls --forms "$(pkg allops.mlpackage --seed 0 --all-ops)"
