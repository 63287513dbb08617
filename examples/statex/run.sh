#!/bin/sh
# The state-transition example with Ninja: ./run.sh [BUILD_DIR]  (default: ./build)
EXAMPLE_DIR=$(cd "$(dirname "$0")" && pwd)
TOYGEN_ARGS="--chunks 2 --contexts 512,1024,2048,3072,4096"
. "$EXAMPLE_DIR/../run_common.sh"
