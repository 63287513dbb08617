#!/usr/bin/env bash
# cli_escape: a name or path holding ESC, a newline or another control character is
# never echoed raw to the terminal: every message shows it as \e, \n, \xHH (one
# message, one line). Each case echoed it raw before (issue 9).
source "$(dirname "$0")/lib.sh"

GOOD=$T/good.mlpackage
"$MLDTEST" mkpkg "$GOOD" --second-fn || { echo "FAIL: mldtest mkpkg"; exit 1; }
ESC=$'\e'
RED="${ESC}[31mred"
NL=$'a\nb'

# clean CODE DESCRIPTION LINES PATTERN... -- COMMAND...: exit CODE, the patterns on stderr,
# no ESC or other control byte there, and LINES lines of it (- for any).
clean() {
	local code=$1 what=$2 lines=$3
	shift 3
	expect "$code" "$what" "$@"
	if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$T/err"; then
		bad "$what: a control character on stderr: $(od -c "$T/err" | head -3)"
	else ok; fi
	[ "$lines" = - ] || eq "$what: stderr lines" "$(wc -l <"$T/err")" "$lines"
}

clean 2 "combine: function name with ESC" 2 'function name "\e[31mred" is not a valid MIL identifier' -- \
	"$MLDEDUP" combine -q --no-store -o "$T/o.mlpackage" "$RED=$GOOD" b="$GOOD"
clean 2 "combine: function name with a newline" 2 'function name "a\nb"' -- \
	"$MLDEDUP" combine -q --no-store -o "$T/o.mlpackage" "$NL=$GOOD" b="$GOOD"
clean 1 "combine: source function with ESC" 1 "no function \"\\e[31mred\"" -- \
	"$MLDEDUP" combine -q --no-store -o "$T/o.mlpackage" a="$GOOD:$RED" b="$GOOD"
clean 1 "index: path with a newline" 1 "$T/no\\nbsuch.mlpackage" -- "$MLDEDUP" index -q --store "$T/s.db" "$T/no${NL#a}such.mlpackage"
clean 1 "ls: path with ESC" 1 "$T/\\e[31mred" -- "$MLDEDUP" ls "$T/$RED"
clean 1 "cat: function with ESC" 1 "no function \"\\e[31mred\"" -- "$MLDEDUP" cat "$GOOD" "$RED" w
clean 1 "verify: function with ESC" 2 "no function \"\\e[31mred\"" -- "$MLDEDUP" verify "$GOOD" "$RED=$GOOD"
clean 2 "not a command with ESC" - "'\\e[31mred' is not a command" -- "$MLDEDUP" "$RED"
clean 2 "usage error echoing an argument" 2 '\x07' -- "$MLDEDUP" gc --older-than $'1\a'
"$MLDEDUP" index -q --store "$T/s.db" "$GOOD" || bad "index failed"
clean 1 "show: name with ESC" 1 "\\e[31mred" -- "$MLDEDUP" show --store "$T/s.db" "$GOOD:$RED:w"
finish
