#!/usr/bin/env bash
# query_cli: the query commands with no fixtures: --help and usage errors of each, a
# missing store (exit 1, nothing created), an empty store (zeros, valid JSON, fsck
# clean), sql refusing writes and printing the views, "did you mean", help COMMAND.
source "$(dirname "$0")/../cli/lib.sh"
: "${QTEST:?QTEST must name the qtest helper}"

CMDS=(stats packages functions show dupes explain gc fsck sql)
for c in "${CMDS[@]}"; do
	expect 0 "$c --help" -- "$MLDEDUP" "$c" --help
	for want in "usage: mldedup $c" --json --store --verbose "exit status"; do
		grep -qF -- "$want" "$T/out" && ok || bad "$c --help lacks '$want'"
	done
	expect 0 "help $c" -- "$MLDEDUP" help "$c"
	expect 2 "$c --bogus" "unknown option" "mldedup $c --help" -- "$MLDEDUP" "$c" --bogus
done
expect 2 "stats with an argument" "takes no arguments" -- "$MLDEDUP" stats x
expect 2 "show without an argument" "expected DIGEST|PKG:FUNC:NAME" -- "$MLDEDUP" show
expect 2 "explain with two arguments" "expected OUT FUNC NAME" -- "$MLDEDUP" explain a b
expect 2 "dupes --across bad" "--across takes" -- "$MLDEDUP" dupes --across files
expect 2 "dupes --min-bytes bad" "--min-bytes takes" -- "$MLDEDUP" dupes --min-bytes 12q
expect 2 "gc --older-than without a unit" "--older-than takes" -- "$MLDEDUP" gc --older-than 30
expect 2 "gc --older-than bad unit" "--older-than takes" -- "$MLDEDUP" gc --older-than 3y

# ---- did you mean -----------------------------------------------------------------------
expect 2 "mistyped stats" "'stat' is not a command" "did you mean 'mldedup stats'?" -- "$MLDEDUP" stat
expect 2 "mistyped packages" "did you mean 'mldedup packages'?" -- "$MLDEDUP" pakcages
expect 2 "mistyped dupes" "did you mean 'mldedup dupes'?" -- "$MLDEDUP" dupse
expect 2 "help with a mistyped command" "'dupse' is not a command" "did you mean 'mldedup dupes'?" -- "$MLDEDUP" help dupse
expect 2 "unlike any command" "'xyzzy' is not a command" "usage: mldedup" -- "$MLDEDUP" xyzzy
grep -q "did you mean" "$T/err" && bad "xyzzy got a suggestion" || ok

# ---- no store: exit 1, and nothing created ----------------------------------------------
N=$T/none/store.db
for c in stats packages functions dupes fsck gc sql; do
	expect 1 "$c without a store" "$N" -- "$MLDEDUP" "$c" --store "$N"
done
expect 1 "show without a store" "$N" -- "$MLDEDUP" show --store "$N" 0123456789abcdef
[ ! -e "$T/none" ] && ok || bad "a query command created the store or its directory"

# ---- an empty store (an empty file is an empty SQLite database) --------------------------
E=$T/empty.db
: >"$E"
expect 0 "stats on an empty store" -- "$MLDEDUP" stats --json --store "$E"
for id in packages weights contents savings decisions outputs; do
	eq "empty store: $id" "$("$QTEST" get "$T/out" "$id")" 0
done
eq "empty store: --json format" "$("$QTEST" get "$T/out" format)" 1
SCHEMA=$(ls "$(dirname "$0")"/../../schema/store_v*.sql | wc -l | tr -d ' ') # the latest migration
eq "empty store: schema version" "$("$QTEST" get "$T/out" schema_version)" "$SCHEMA"
eq "empty store: store path" "$("$QTEST" get "$T/out" store)" "$(realpath "$E")"
expect 0 "stats --json --rows on an empty store" -- "$MLDEDUP" stats --json --rows --store "$E"
eq "empty store: the row form" "$("$QTEST" get "$T/out" format "stats.[id=weights].value" "stats.[id=weights].unit")" \
	$'1\n0\ncount'
expect 0 "dupes on an empty store" -- "$MLDEDUP" dupes --json --store "$E"
eq "empty store: dupes" "$("$QTEST" get "$T/out" groups.# near.# savings)" $'0\n0\n0'
expect 0 "fsck on an empty store" -- "$MLDEDUP" fsck --deep --store "$E"
eq "empty store: fsck prints nothing" "$(cat "$T/out")" ""
expect 0 "packages on an empty store" -- "$MLDEDUP" packages --json --store "$E"
eq "empty store: packages" "$("$QTEST" get "$T/out" format packages.#)" $'1\n0'
expect 1 "functions of an unknown package" "no indexed package is 'x.mlpackage'" -- \
	"$MLDEDUP" functions --store "$E" x.mlpackage
expect 2 "show: not a digest" "neither a digest" -- "$MLDEDUP" show --store "$E" xyz
expect 2 "show: too short a prefix" "neither a digest" -- "$MLDEDUP" show --store "$E" 0123456
expect 1 "show: unknown digest" "no content or encoding 01234567" -- "$MLDEDUP" show --store "$E" 01234567
expect 1 "explain: unknown output" "no combine that wrote" -- "$MLDEDUP" explain --store "$E" "$T/o.mlpackage" f w
expect 0 "gc on an empty store" -- "$MLDEDUP" gc --missing --store "$E"

# ---- sql: read-only, documented views ------------------------------------------------------
VIEWS=(q1_contents q1_decisions q1_encodings q1_functions q1_output_functions q1_output_weights q1_outputs
	q1_packages q1_weights)
expect 0 "sql without a query" -- "$MLDEDUP" sql --store "$E"
for v in "${VIEWS[@]}"; do grep -q "^CREATE VIEW $v AS SELECT" "$T/out" && ok || bad "sql: no view $v"; done
expect 0 "sql --json without a query" -- "$MLDEDUP" sql --json --store "$E"
eq "sql --json: the views" "$("$QTEST" get "$T/out" 'rows.#' rows.0.view)" "${#VIEWS[@]}"$'\n'q1_contents
expect 0 "sql query" -- "$MLDEDUP" sql --store "$E" "SELECT count(*) AS n, 'a	b' AS t FROM q1_weights"
eq "sql: TSV with a header, tabs escaped" "$(cat "$T/out")" $'n\tt\n0\ta\\tb'
expect 0 "sql --no-header" -- "$MLDEDUP" sql --no-header --store "$E" "SELECT 1 AS x, NULL AS y, 0.5 AS z"
eq "sql --no-header: NULL is empty" "$(cat "$T/out")" $'1\t\t0.5'
expect 0 "sql --json" -- "$MLDEDUP" sql --json --store "$E" "SELECT 1 AS x, NULL AS y, 'z' AS x"
eq "sql --json: row objects, duplicate names kept" "$("$QTEST" get "$T/out" rows.0.x rows.0.y rows.0.x_3)" $'1\nnull\nz'
for bad_sql in "DELETE FROM packages" "DROP VIEW q1_weights" "CREATE TEMP TABLE t(x)" "PRAGMA user_version = 7"; do
	expect 2 "sql refuses: $bad_sql" "only statements that read" -- "$MLDEDUP" sql --store "$E" "$bad_sql"
done
expect 2 "sql: two statements" "one statement at a time" -- "$MLDEDUP" sql --store "$E" "SELECT 1; SELECT 2"
expect 2 "sql: a syntax error" "syntax error" -- "$MLDEDUP" sql --store "$E" "SELEC 1"
# Even statements SQLite calls read-only cannot write: the connection is read-only.
expect 0 "sql: PRAGMA query_only=0 is harmless" -- "$MLDEDUP" sql --store "$E" "PRAGMA query_only = 0"
expect 1 "sql: ATTACH cannot create a file" -- "$MLDEDUP" sql --store "$E" "ATTACH '$T/new.db' AS x"
[ ! -e "$T/new.db" ] && ok || bad "ATTACH created a file"
expect 0 "store still usable" -- "$MLDEDUP" sql --store "$E" "SELECT count(*) FROM q1_packages"
finish
