# Shared helpers of the CLI test scripts (sourced). Needs bash and coreutils only.
#
# Environment (set by ctest, see CMakeLists.txt):
#   MLDEDUP           the mldedup binary
#   MLDTEST           the mldtest helper (synthetic packages, zips, SQL, JSON)
#   MLD_FIXTURES_DIR  coremltools fixture packages (optional)
#   MLD_CLI_TESTS     this directory (expected/ files)

set -u
: "${MLDEDUP:?MLDEDUP must name the mldedup binary}"
: "${MLDTEST:?MLDTEST must name the mldtest helper}"
MLD_CLI_TESTS=${MLD_CLI_TESTS:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

T=$(mktemp -d "${TMPDIR:-/tmp}/mld-cli-XXXXXX") || exit 1

# Keep the user's real store out of every test: the default store goes under $T.
unset MLDEDUP_STORE XDG_CACHE_HOME
export HOME="$T/home"
cleanup() { chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); }
bad() {
	echo "FAIL: $*" >&2
	FAIL=$((FAIL + 1))
}
# check DESCRIPTION COMMAND...: the command must succeed
check() {
	local what=$1
	shift
	if "$@"; then ok; else bad "$what"; fi
}
eq() { # eq DESCRIPTION GOT WANT
	if [ "$2" == "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi
}

need_fixtures() {
	if [ ! -d "${MLD_FIXTURES_DIR:-}" ]; then
		echo "SKIP: fixtures not found at ${MLD_FIXTURES_DIR:-<MLD_FIXTURES_DIR unset>}"
		exit 77
	fi
}

# Every .mlpackage under the fixtures, sorted.
fixture_packages() {
	find "$MLD_FIXTURES_DIR" -name '*.mlpackage' -type d -prune | LC_ALL=C sort
}

# run COMMAND...: stdout in $T/out, stderr in $T/err, exit status in $RC.
run() {
	"$@" >"$T/out" 2>"$T/err"
	RC=$?
}

# A sanitizer or crash report in $T/err?
sanitizer_report() {
	grep -qE 'Sanitizer|runtime error:|==[0-9]+==ERROR|Segmentation fault|core dumped' "$T/err"
}

# expect CODE DESCRIPTION PATTERN... -- COMMAND...
# Runs COMMAND; its exit status must be CODE, it must not crash (< 128, no sanitizer
# report), and stderr must match every PATTERN (fixed strings).
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

finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
