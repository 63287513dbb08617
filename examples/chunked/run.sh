#!/bin/sh
# The chunked example with Ninja: ./run.sh [BUILD_DIR]  (default: ./build)
EXAMPLE_DIR=$(cd "$(dirname "$0")" && pwd)
TOYGEN_ARGS="--chunks 2"
. "$EXAMPLE_DIR/../run_common.sh"
