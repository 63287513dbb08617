"$MLDEDUP" anemll --lut six --chunk 1 --input "$W/toy"
