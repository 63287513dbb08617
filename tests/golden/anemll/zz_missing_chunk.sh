# --chunk 2 of a one-chunk export: every missing file named, nothing written
"$MLDEDUP" anemll --lut 6 --chunk 2 --prefix toy --input "$W/toy" --output "$W/out4"; rc=$?
[ -e "$W/out4" ] && echo "out4 exists" || echo "nothing written"
exit $rc
