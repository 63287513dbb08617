#!/usr/bin/env bash
# cli_completions: completions/mldedup.bash and completions/_mldedup are what
# `mldedup --completion bash|zsh` writes from the option tables ('ninja completions'
# rewrites them), and they work: the bash one is run with the words a user typed, the zsh
# one is syntax-checked by zsh (skipped, saying so, without zsh). Also -V/--version/version.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${MLD_SOURCE_DIR:?}"
C=$MLD_SOURCE_DIR/completions

for shell in bash zsh; do
	file=$C/mldedup.bash
	[ $shell = zsh ] && file=$C/_mldedup
	"$MLDEDUP" --completion $shell >"$T/$shell" || bad "--completion $shell exited with $?"
	if diff -u "$file" "$T/$shell" >"$T/diff"; then ok; else
		bad "$file is stale: run 'ninja completions'"
		head -40 "$T/diff" >&2
	fi
done
expect 2 "--completion fish" "usage: mldedup --completion bash|zsh" -- "$MLDEDUP" --completion fish

# bash: what a user gets after typing the words (the last one may be partial)
complete_words() {
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mldedup
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' _ "$C/mldedup.bash" "$@" | LC_ALL=C sort | tr '\n' ' '
}
mkdir -p "$T/pkgs/a.mlpackage" "$T/pkgs/b.mlpackage"
eq "bash: commands" "$(complete_words mldedup com)" "combine "
eq "bash: ve" "$(complete_words mldedup ve)" "verify version "
eq "bash: options" "$(complete_words mldedup combine --st)" "--stamp --store --strict "
eq "bash: common options" "$(complete_words mldedup ls --)" \
	"--forms --help --json --no-digest --no-header --quiet --store --verbose "
eq "bash: an option's file" "$(complete_words mldedup combine -o "$T/pkgs/a")" "$T/pkgs/a.mlpackage "
eq "bash: a value that is no file" "$(complete_words mldedup dupes --min-bytes "$T/pk")" ""
eq "bash: packages" "$(complete_words mldedup ls "$T/pkgs/")" "$T/pkgs/a.mlpackage $T/pkgs/b.mlpackage "
eq "bash: help" "$(complete_words mldedup help ex)" "explain "
# every command has its own options in both files
for cmd in $("$MLDEDUP" --help | awk '/^commands:/ { on = 1; next } on && !NF { exit } on { print $1 }'); do
	grep -q "^	$cmd)" "$C/mldedup.bash" && ok || bad "bash completion lacks $cmd"
	grep -q "^		$cmd)" "$C/_mldedup" && ok || bad "zsh completion lacks $cmd"
done
if command -v zsh >/dev/null; then
	zsh -n "$C/_mldedup" && ok || bad "zsh -n $C/_mldedup"
	# load it as a completion function the way compinit does, and run it on a command line
	# with the completion system's builtins stubbed: it must ask for the combine options
	out=$(zsh -f -c 'fpath=("$1" $fpath); autoload -U _mldedup
		_describe() { print -r -- describe "$@" }
		_arguments() { if [[ $1 == -C ]]; then state=args; return 1; fi; print -r -- "$@" }
		words=(combine -o); CURRENT=2; _mldedup' _ "$C" 2>&1)
	case $out in *"--output=["*":OUT:_files"*"--strict["*"*: :_files"*) ok ;; *) bad "zsh: combine's options not offered: $out" ;; esac
else
	echo "SKIP (zsh part): zsh is not installed (Debian: zsh); only bash was checked"
fi

# the version, three ways, and what a bug report needs
for v in -V --version version; do
	expect 0 "mldedup $v" -- "$MLDEDUP" $v
	eq "mldedup $v: first line" "$(head -n 1 "$T/out")" "mldedup $(sed -n 's/^#define MLD_VERSION "\(.*\)"/\1/p' \
		"$MLD_SOURCE_DIR/src/include/mldedup.h")"
	grep -q '^library: libmldedup ' "$T/out" && ok || bad "mldedup $v: no library version"
	grep -qE '^SIMD: palette decode (scalar|neon|avx2|avx512), XXH3 ' "$T/out" && ok || bad "mldedup $v: no SIMD path"
done
MLD_CPU=scalar run "$MLDEDUP" --version
grep -q '^SIMD: palette decode scalar, .*(MLD_CPU=scalar)' "$T/out" && ok || bad "MLD_CPU=scalar --version: $(cat "$T/out")"
finish
