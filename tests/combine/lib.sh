# Shared helpers of the combine test scripts (sourced). Needs bash and coreutils only.
#
# Environment (set by ctest, see CMakeLists.txt):
#   MLDEDUP           the mldedup binary
#   COMBINE_CHECK     the combine_check harness (JSON, zip and package queries)
#   MLD_FIXTURES_DIR  coremltools fixture packages with answer keys

set -u
: "${MLDEDUP:?MLDEDUP must name the mldedup binary}"
: "${COMBINE_CHECK:?COMBINE_CHECK must name the combine_check harness}"

need_fixtures() {
	if [ ! -d "${MLD_FIXTURES_DIR:-}" ] || [ ! -f "$MLD_FIXTURES_DIR/chunked/expected.json" ]; then
		echo "SKIP: fixtures not found at ${MLD_FIXTURES_DIR:-<MLD_FIXTURES_DIR unset>}"
		exit 77
	fi
	F=$MLD_FIXTURES_DIR
}

source "$(dirname "${BASH_SOURCE[0]}")/../testlib.sh"

# json FILE PATH: the value at PATH (see combine_check.c), or "<none>".
json() { "$COMBINE_CHECK" json "$1" "$2" 2>/dev/null || echo "<none>"; }

# pkghash PKG: one hash over the model and the weight file (what a partial write would break).
pkghash() {
	local d=$1/Data/com.apple.CoreML
	[ -f "$d/model.mlmodel" ] && [ -f "$d/weights/weight.bin" ] || {
		echo "incomplete"
		return
	}
	cat "$d/model.mlmodel" "$d/weights/weight.bin" "$1/Manifest.json" | sha256 | cut -d' ' -f1
}

# functions PKG: the function names of a package, sorted, one line (from `mldedup ls`).
functions() { "$MLDEDUP" ls --no-header --no-digest "$1" | cut -f1 | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//'; }

wbin_size() { filesize "$1/Data/com.apple.CoreML/weights/weight.bin" 2>/dev/null || echo 0; }

# within1 SIZE CORRECT_MIN: SIZE is within 1% of CORRECT_MIN.
within1() { [ "$1" -gt 0 ] && [ $((100 * ($1 > $2 ? $1 - $2 : $2 - $1))) -le "$2" ]; }
