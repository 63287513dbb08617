# the generated Make fragment
mkdir -p "$W/mk" && cd "$W/mk" && "$MLDEDUP" make "$W/toy" -o mldedup.gen.mk && cat mldedup.gen.mk
