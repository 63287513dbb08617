# every constexpr form mldedup decodes
"$MLDEDUP" ls "$(pkg allops.mlpackage --seed 0 --all-ops)"
