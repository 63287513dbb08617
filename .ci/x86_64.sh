#!/usr/bin/env bash
# The README's test command on the host (x86_64): a Release -Werror build + ctest, and an
# ASan/UBSan build + ctest (scripts/test.sh), with the format check required.
set -euo pipefail
cd "$(dirname "$0")/.."
# the format check may not skip here: Debian 12's clang-format is the version it wants
export MLD_STYLE_REQUIRED=1
exec bash scripts/test.sh
