# one JSON document: outputs, what is missing, what is left as it is
"$MLDEDUP" anemll -q --json --lut 6 --chunk 1 --prefix toy --input "$W/toy" --output "$W/out2"
