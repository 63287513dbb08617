# the same through the Python entry point, where a script expects combine_models.py
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 77; }
PYTHONPATH=$GOLDEN_SRC/../../python MLDEDUP=$MLDEDUP python3 -m mldedup.combine_models --lut 6 --chunk 1 \
	--prefix toy --input "$W/toy" --output "$W/out3" 2>&1 && ls "$W/out3"
