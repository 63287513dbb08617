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

T=$(mktemp -d "${TMPDIR:-/tmp}/mld-combine-XXXXXX") || exit 1
# Keep the user's real store out of every test: the default store goes under $T.
unset MLDEDUP_STORE XDG_CACHE_HOME
export HOME="$T/home"
mkdir -p "$HOME"
cleanup() { chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); }
bad() {
	echo "FAIL: $*" >&2
	FAIL=$((FAIL + 1))
}
eq() { # eq DESCRIPTION GOT WANT
	if [ "$2" == "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi
}

# run COMMAND...: stdout in $T/out, stderr in $T/err, exit status in $RC.
run() {
	"$@" >"$T/out" 2>"$T/err"
	RC=$?
}

sanitizer_report() {
	grep -qE 'Sanitizer|runtime error:|==[0-9]+==ERROR|Segmentation fault|core dumped' "$T/err"
}

# expect CODE DESCRIPTION PATTERN... -- COMMAND...
# COMMAND's exit status must be CODE (no crash, no sanitizer report) and its stderr
# must contain every PATTERN (fixed strings).
expect() {
	local code=$1 what=$2
	shift 2
	local pats=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		pats+=("$1")
		shift
	done
	shift
	run "$@"
	local why=""
	if [ "$RC" -ge 128 ]; then
		why="crashed (exit $RC)"
	elif sanitizer_report; then
		why="sanitizer report"
	elif [ "$RC" -ne "$code" ]; then
		why="exit $RC, want $code"
	else
		local p
		for p in "${pats[@]}"; do
			grep -qF -- "$p" "$T/err" || why="${why:+$why; }stderr lacks '$p'"
		done
	fi
	if [ -n "$why" ]; then
		bad "$what: $why; command: $*"
		sed 's/^/    stderr: /' "$T/err" | head -20 >&2
	else
		ok
	fi
}

# json FILE PATH: the value at PATH (see combine_check.c), or "<none>".
json() { "$COMBINE_CHECK" json "$1" "$2" 2>/dev/null || echo "<none>"; }

# pkghash PKG: one hash over the model and the weight file (what a partial write would break).
pkghash() {
	local d=$1/Data/com.apple.CoreML
	[ -f "$d/model.mlmodel" ] && [ -f "$d/weights/weight.bin" ] || {
		echo "incomplete"
		return
	}
	cat "$d/model.mlmodel" "$d/weights/weight.bin" "$1/Manifest.json" | sha256sum | cut -d' ' -f1
}

# functions PKG: the function names of a package, sorted, one line (from `mldedup ls`).
functions() { "$MLDEDUP" ls --no-header --no-digest "$1" | cut -f1 | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//'; }

wbin_size() { stat -c %s "$1/Data/com.apple.CoreML/weights/weight.bin" 2>/dev/null || echo 0; }

# within1 SIZE CORRECT_MIN: SIZE is within 1% of CORRECT_MIN.
within1() { [ "$1" -gt 0 ] && [ $((100 * ($1 > $2 ? $1 - $2 : $2 - $1))) -le "$2" ]; }

finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
