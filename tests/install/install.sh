#!/usr/bin/env bash
# install_prefix: `cmake --install` of this build into a temporary prefix holds what a
# user of the library and the tool needs, and a small C program builds and runs against
# it through pkg-config (shared, and --static with libmldedup.a) and through
# find_package(mldedup) (mldedup::mldedup and mldedup::mldedup_static).
#
# usage: install.sh BUILD_DIR WORK_DIR C_COMPILER
# env: MLD_TEST_EMULATOR (run target programs through it), MLD_TOOLCHAIN_FILE,
#      MLD_SANITIZE_FLAGS (the build's -fsanitize flags), MLD_PKG_CONFIG_LIBDIR (a cross
#      build's pkg-config search path for the dependencies)
set -u
build=$1 work=$2 cc=$3
here=$(cd "$(dirname "$0")" && pwd)
FAIL=0 PASS=0
ok() { PASS=$((PASS + 1)); }
bad() {
	echo "FAIL: $*" >&2
	FAIL=$((FAIL + 1))
}
runs() { # DESCRIPTION PROGRAM: it runs and says what it should
	# shellcheck disable=SC2086
	if out=$(${MLD_TEST_EMULATOR:-} "$2" "$work/store.db" 2>&1) && [[ $out == "libmldedup "*" statistics" ]]; then ok
	else bad "$1: $out"; fi
}
command -v pkg-config >/dev/null || { echo "SKIP: pkg-config not installed"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
P=$work/prefix
cmake --install "$build" --prefix "$P" >"$work/install.log" 2>&1 || { cat "$work/install.log"; bad "cmake --install"; exit 1; }

# ---- what is there -------------------------------------------------------------------
pc=$(find "$P" -name mldedup.pc)
libdir=$(dirname "$(dirname "$pc")")
case $(uname -s) in Darwin) so=dylib ;; *) so=so ;; esac
for f in bin/mldedup include/mldedup.h include/mldedup_query.h share/man/man1/mldedup.1 \
	share/mldedup/mldedup.ninja share/mldedup/mldedup.mk share/bash-completion/completions/mldedup \
	share/zsh/site-functions/_mldedup; do
	[ -f "$P/$f" ] && ok || bad "$f not installed"
done
for f in libmldedup.a libmldedup.$so mldedup/mldedupConfig.cmake cmake/mldedup/mldedupConfigVersion.cmake \
	cmake/mldedup/mldedupTargets.cmake pkgconfig/mldedup.pc; do
	case $f in mldedup/*) f=cmake/$f ;; esac
	[ -e "$libdir/$f" ] && ok || bad "${libdir#"$P"/}/$f not installed"
done
ver=$(sed -n 's/^#define MLD_VERSION "\(.*\)"/\1/p' "$P/include/mldedup.h")
IFS=. read -r major minor _ <<<"$ver"
soname=libmldedup.so.$major.$minor
[ "$major" = 0 ] || soname=libmldedup.so.$major
[ "$so" = dylib ] && soname=libmldedup.$major.$minor.dylib
if [ "$so" = so ]; then
	[ -f "$libdir/libmldedup.so.$ver" ] && ok || bad "no libmldedup.so.$ver"
	got=$(objdump -p "$libdir/libmldedup.so.$ver" 2>/dev/null | awk '$1 == "SONAME" { print $2 }')
	[ "$got" = "$soname" ] && ok || bad "soname '$got', want $soname"
	# the shared library exports the public API and nothing else
	others=$(nm -D --defined-only "$libdir/libmldedup.so.$ver" | awk '{ print $NF }' | grep -v '^mld_' | grep -vE '^_(init|fini|edata|end|_bss_start)$')
	[ -z "$others" ] && ok || bad "libmldedup.so exports more than mld_*: $(echo $others | head -c 300)"
	[ "$(nm -D --defined-only "$libdir/libmldedup.so.$ver" | grep -c ' mld__')" = 0 ] && ok || bad "internal mld__ names exported"
else
	[ -f "$libdir/$soname" ] && ok || bad "no $soname"
	others=$(nm -gU "$libdir/$soname" | awk '{ print $NF }' | grep -v '^_mld_')
	[ -z "$others" ] && ok || bad "libmldedup.dylib exports more than mld_*: $(echo $others | head -c 300)"
fi
# shellcheck disable=SC2086
${MLD_TEST_EMULATOR:-} "$P/bin/mldedup" --version | grep -q "^mldedup $ver\$" && ok || bad "installed mldedup --version"

# what packaging/homebrew/mldedup.rb's test does, where the build installs the toy generator
toygen=$P/libexec/mldedup/mldedup-toygen
if [ -x "$toygen" ]; then
	# shellcheck disable=SC2086
	${MLD_TEST_EMULATOR:-} "$toygen" -q -o "$work/export" --chunks 1 --layers 2 || bad "installed toygen"
	src=("infer=$(echo "$work"/export/*_FFN_*.mlpackage)" "prefill=$(echo "$work"/export/*_prefill_*.mlpackage)")
	# shellcheck disable=SC2086
	${MLD_TEST_EMULATOR:-} "$P/bin/mldedup" combine -q --store "$work/brew.db" -o "$work/chunk.mlpackage" "${src[@]}" &&
		${MLD_TEST_EMULATOR:-} "$P/bin/mldedup" verify -q "$work/chunk.mlpackage" "${src[@]}" && ok ||
		bad "the Homebrew formula's test: toygen, combine, verify"
else
	echo "NOTE: the build installs no toy generator (-DMLD_INSTALL_TOYGEN=ON): the formula's test sequence is not run"
fi

# ---- pkg-config ------------------------------------------------------------------------
export PKG_CONFIG_PATH=$libdir/pkgconfig${MLD_PKG_CONFIG_LIBDIR:+:$MLD_PKG_CONFIG_LIBDIR}
[ -n "${MLD_PKG_CONFIG_LIBDIR:-}" ] && export PKG_CONFIG_LIBDIR=$PKG_CONFIG_PATH
[ "$(pkg-config --modversion mldedup)" = "$ver" ] && ok || bad "pkg-config --modversion mldedup"
san=${MLD_SANITIZE_FLAGS:-}
# shellcheck disable=SC2086,SC2046
if "$cc" $san -std=c99 -Wall -Wextra -Werror -o "$work/pc_shared" "$here/consumer/consumer.c" \
	$(pkg-config --cflags --libs mldedup) -Wl,-rpath,"$libdir" 2>"$work/cc.log"; then
	runs "pkg-config, shared" "$work/pc_shared"
	if [ "$so" = so ]; then
		objdump -p "$work/pc_shared" | grep -q "NEEDED *$soname" && ok || bad "pkg-config, shared: $soname is not NEEDED"
	fi
else
	bad "pkg-config, shared: does not build: $(cat "$work/cc.log")"
fi
# static: libmldedup.a and what `pkg-config --static` says it needs
libs=$(pkg-config --static --libs mldedup | sed 's/ -lmldedup / /; s/^-lmldedup //; s/ -lmldedup$//')
case " $(pkg-config --static --libs mldedup) " in *" -lmldedup "*) ok ;; *) bad "pkg-config --libs lacks -lmldedup" ;; esac
# shellcheck disable=SC2086,SC2046
if "$cc" $san -std=c11 -Wall -Wextra -Werror -o "$work/pc_static" "$here/consumer/consumer.c" \
	$(pkg-config --static --cflags mldedup) "$libdir/libmldedup.a" $libs 2>"$work/cc.log"; then
	runs "pkg-config --static" "$work/pc_static"
	if [ "$so" = so ]; then
		objdump -p "$work/pc_static" | grep -q "NEEDED *libmldedup" && bad "pkg-config --static: linked the shared library" || ok
	fi
else
	bad "pkg-config --static: does not build: $(cat "$work/cc.log")"
fi

# ---- find_package(mldedup) -------------------------------------------------------------
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
args=(-S "$here/consumer" -B "$work/cmake" "${gen[@]}" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_COMPILER="$cc")
[ -n "${MLD_TOOLCHAIN_FILE:-}" ] && args+=(-DCMAKE_TOOLCHAIN_FILE="$MLD_TOOLCHAIN_FILE")
[ -n "$san" ] && args+=(-DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san")
if (unset PKG_CONFIG_PATH PKG_CONFIG_LIBDIR; cmake "${args[@]}" && cmake --build "$work/cmake") >"$work/cmake.log" 2>&1; then
	runs "find_package: mldedup::mldedup" "$work/cmake/consumer_shared"
	runs "find_package: mldedup::mldedup_static" "$work/cmake/consumer_static"
	if [ "$so" = so ]; then
		objdump -p "$work/cmake/consumer_shared" | grep -q "NEEDED *$soname" && ok ||
			bad "find_package: mldedup::mldedup is not the shared library"
	fi
else
	bad "find_package: the consumer project does not build"
	tail -40 "$work/cmake.log" >&2
fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
