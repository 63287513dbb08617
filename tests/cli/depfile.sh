#!/usr/bin/env bash
# cli_depfile: the depfiles of `mldedup index --depfile` name every path as Ninja
# reads it back (real ninja: a build whose depfile is ours, then `ninja -t deps`), and
# the paths a depfile cannot hold are refused with the reason.
source "$(dirname "$0")/lib.sh"
command -v ninja >/dev/null || { echo "SKIP: ninja not found"; exit 77; }

# roundtrip TARGET FILE...: ninja reads exactly TARGET and the FILEs back
roundtrip() {
	local d=$T/nj$((PASS + FAIL)) target=$1
	mkdir -p "$d"
	"$MLDTEST" depfile "$@" >"$d/dep.d" || { bad "depfile for $* refused"; return; }
	# the build edge names TARGET with Ninja's own escapes; ninja then checks that the
	# depfile names the same target
	local t=${target//\$/\$\$}
	t=${t// /\$ }
	t=${t//:/\$:}
	printf 'rule gen\n  command = cp dep.d out.d\n  depfile = out.d\n  deps = gcc\nbuild %s: gen\n' "$t" >"$d/build.ninja"
	if ! (cd "$d" && ninja --quiet >/dev/null 2>"$d/err"); then
		bad "ninja refuses the depfile for '$target': $(cat "$d/err")"
		return
	fi
	shift
	(cd "$d" && ninja -t deps) | tail -n +2 | sed 's/^    //' | sed '/^$/d' >"$d/got"
	printf '%s\n' "$@" | sed '/^$/d' >"$d/want"
	cmp -s "$d/want" "$d/got" && ok || bad "ninja reads '$*' back as '$(tr '\n' '|' <"$d/got")' from $(cat "$d/dep.d")"
}
refused() { # refused REASON TARGET FILE...
	local why=$1
	shift
	expect 3 "depfile refuses: $*" "$why" -- "$MLDTEST" depfile "$@"
}

roundtrip out 'a b' 'c#d' 'e$f' 'g\ h' 'i\\ j' 'k\#l' 'm\:n' 'p\\' 'q:r' 's\x' 'u(v)[w]{x}' 'é ü' 'a\\\ b' '\#' '##'
roundtrip 'o ut' x
roundtrip 'o\' x
roundtrip 'o:' y
roundtrip 'a\:b' y
roundtrip 't#\ $' y
roundtrip 'stamps/my pkg #1 $x.stamp' '/exports/my pkg #1 $x.mlpackage/Manifest.json'
refused "a character a depfile cannot hold" out 'a&b'
refused "a character a depfile cannot hold" out 'tab	here'
refused "a line break" out $'two\nlines'
refused "an odd number of trailing backslashes" out 'w\'
refused "a backslash before '\$'" out 'z\$'
refused "a trailing ':'" out 'c:'
refused "it is empty" ''

# mldedup index --depfile refuses such a package path instead of writing a broken file
P="$T/a&b.mlpackage"
"$MLDTEST" mkpkg "$P"
expect 1 "index --depfile of a path a depfile cannot hold" "a&b.mlpackage" "a depfile cannot name this path" -- \
	"$MLDEDUP" index --store "$T/s.db" --stamp "$T/s.stamp" --depfile "$T/s.d" "$P"
[ -e "$T/s.d" ] && bad "a depfile was written" || ok

# mldedup ninja refuses exports a build file cannot name
mkdir -p "$T/ex|p"
"$MLDTEST" mkpkg "$T/ex|p/toy_FFN_chunk_01of01.mlpackage"
"$MLDTEST" mkpkg "$T/ex|p/toy_prefill_chunk_01of01.mlpackage"
expect 1 "ninja of exports under a '|'" "ex|p" "Ninja cannot name a path holding '|'" -- \
	"$MLDEDUP" ninja "$T/ex|p" -o "$T/b.ninja"
[ -e "$T/b.ninja" ] && bad "a build file was written" || ok
mkdir -p "$T/ex&p"
"$MLDTEST" mkpkg "$T/ex&p/toy_FFN_chunk_01of01.mlpackage"
"$MLDTEST" mkpkg "$T/ex&p/toy_prefill_chunk_01of01.mlpackage"
expect 1 "ninja of exports whose depfiles could not name them" "ex&p/toy_" "a depfile cannot name this path" -- \
	"$MLDEDUP" ninja "$T/ex&p" -o "$T/b.ninja"
finish
