#!/usr/bin/env bash
# The main job end to end on a fresh Debian 12 machine: install the Debian packages
# mldedup needs, build it, and run the chunked example project (a toy 2-chunk ANEMLL
# export -> `mldedup ninja` -> ninja: index + combine each chunk -> ninja check:
# verify), printing what was shared and the verify results.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
BUILD_DIR=${BUILD_DIR:-$PWD/build-example} exec sh examples/run_example.sh
