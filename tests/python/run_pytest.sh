#!/usr/bin/env bash
# python_pytest: the Python package (python/) under pytest, with the first python3 that
# has pytest ($MLD_PYTHON, Debian's /usr/bin/python3, python3 on PATH). No pip install:
# PYTHONPATH points at the package source. Skips (77), saying so, without pytest.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../python" && pwd)
py=""
for cand in ${MLD_PYTHON:-} /usr/bin/python3 python3; do
	if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import pytest' 2>/dev/null; then
		py=$cand
		break
	fi
done
if [ -z "$py" ]; then
	echo "SKIP: no python3 with pytest (apt-get install python3 python3-pytest)"
	exit 77
fi
export PYTHONPATH="$src${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1
cd "${TMPDIR:-/tmp}" || exit 1
exec "$py" -m pytest -q -p no:cacheprovider "$src/tests" "$@"
