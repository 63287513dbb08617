# combine_models.py's flags and names: one chunk, LUT6; the summary says what is left as it is
echo "readme" >"$W/toy/README.txt"
"$MLDEDUP" anemll --lut 6 --chunk 1 --prefix toy --input "$W/toy" --output "$W/out" && ls "$W/out"
