# --anemll: the exports found by name, one JSON document for every output
mkdir -p "$W/outs" && "$MLDEDUP" combine -q --no-store --json --anemll "$W/toy" -o "$W/outs"
