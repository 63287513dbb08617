# Cross build for Linux on AArch64 (Apple Silicon's instruction set) with Debian's cross
# compiler and the arm64 multiarch -dev packages, tests run under qemu-user:
#
#   dpkg --add-architecture arm64 && apt-get update
#   apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
#     libsqlite3-dev:arm64 libprotobuf-c-dev:arm64 libzip-dev:arm64 libxxhash-dev:arm64 \
#     libjansson-dev:arm64 libcmocka-dev:arm64 libbz2-dev:arm64 libssl-dev:arm64
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#
# protoc-c stays the host's. ctest runs every test binary through
# CMAKE_CROSSCOMPILING_EMULATOR: targets directly, and the shell-driven tests through
# the wrapper scripts in <build>/emu/ (see mld_test_exe in the top CMakeLists.txt).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(MLD_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${MLD_CROSS_TRIPLE}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${MLD_CROSS_TRIPLE})

# the target's libraries and headers: Debian multiarch (/usr/lib/aarch64-linux-gnu) and
# the cross libc (/usr/aarch64-linux-gnu); programs (protoc-c) are the host's
set(CMAKE_FIND_ROOT_PATH /usr/${MLD_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# pkg-config reads the arm64 .pc files only
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${MLD_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# qemu-user without binfmt. The programs run on the arm64 multiarch libc (libc6:arm64, which
# the :arm64 -dev packages bring) with its own loader, /lib/ld-linux-aarch64.so.1: `-L /`,
# no prefix. Not -L /usr/aarch64-linux-gnu: that prefix's loader (libc6-arm64-cross,
# 2.36-8cross1 in Debian 12) then loads the multiarch libc.so.6 (2.36-9+deb12uN) through the
# host's ld.so.cache, and the two glibc builds disagree on their private data: the first
# pthread_create spins forever.
find_program(MLD_QEMU qemu-${CMAKE_SYSTEM_PROCESSOR} REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${MLD_QEMU} -L /)
