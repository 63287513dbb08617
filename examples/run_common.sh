# Shared by examples/*/run.sh (sourced, with EXAMPLE_DIR and TOYGEN_ARGS set): write the toy
# export once, write build.ninja from it with `mldedup ninja`, build (index + combine) and check
# (verify). Run it again: ninja has no work to do. Environment: MLDEDUP and TOYGEN (default: the
# binaries of a CMake build in <repo>/build).
set -eu
root=$(cd "$EXAMPLE_DIR/../.." && pwd)
B=${1:-$EXAMPLE_DIR/build}
MLDEDUP=${MLDEDUP:-$root/build/mldedup}
TOYGEN=${TOYGEN:-$root/build/examples/mldedup-toygen}
mkdir -p "$B"
[ -d "$B/export" ] || "$TOYGEN" -q -o "$B/export" $TOYGEN_ARGS
"$MLDEDUP" ninja "$B/export" -o "$B/out/build.ninja"
ninja -C "$B/out"
ninja -C "$B/out" check
