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

source "$(dirname "${BASH_SOURCE[0]}")/../testlib.sh"

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

