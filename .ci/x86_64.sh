#!/usr/bin/env bash
# The README's test command on the host (x86_64): a Release -Werror build + ctest, and an
# ASan/UBSan build + ctest (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/test.sh
