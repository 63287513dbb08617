# Helpers every test script shares (sourced by tests/*/lib.sh): a private temp dir
# and HOME (the user's store is never touched), pass/fail counting, and `expect`,
# which runs a command and checks its exit status, crash-freedom and stderr.
source "$(dirname "${BASH_SOURCE[0]}")/portable.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/mld-test-XXXXXX") || exit 1

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
# check DESCRIPTION COMMAND...: the command must succeed
check() {
	local what=$1
	shift
	if "$@"; then ok; else bad "$what"; fi
}
eq() { # eq DESCRIPTION GOT WANT
	if [ "$2" == "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi
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
