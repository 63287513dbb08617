# Installing mldedup like a library and a tool (included by the top CMakeLists.txt):
#
#   bin/mldedup
#   lib/libmldedup.a, lib/libmldedup.so.<soversion> (.dylib on macOS): the same objects;
#       the shared one exports only the public headers' names (hidden visibility)
#   include/mldedup.h, include/mldedup_query.h
#   lib/pkgconfig/mldedup.pc                 pkg-config mldedup (--static for libmldedup.a)
#   lib/cmake/mldedup/                       find_package(mldedup): mldedup::mldedup
#   share/man/man1/mldedup.1, share/mldedup/ (the Ninja and Make rules)
#   share/bash-completion/completions/mldedup, share/zsh/site-functions/_mldedup
#
# The soname follows the header's version: 0.MINOR while the major version is 0 (every
# minor release may break the ABI), MAJOR after.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(MLD_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
else()
  set(MLD_SOVERSION ${PROJECT_VERSION_MAJOR})
endif()

# The shared library: the static one's objects. The query header includes jansson.h and
# hands out json_t, so jansson is part of its interface; the rest is private.
add_library(mldedup_shared SHARED ${MLD_ALL_OBJECTS})
set_target_properties(mldedup_shared PROPERTIES OUTPUT_NAME mldedup VERSION ${PROJECT_VERSION}
                      SOVERSION ${MLD_SOVERSION} EXPORT_NAME mldedup_shared C_VISIBILITY_PRESET hidden)
target_include_directories(mldedup_shared PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/src/include>
                           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(mldedup_shared PUBLIC PkgConfig::JANSSON
                      PRIVATE SQLite::SQLite3 PkgConfig::PROTOBUFC PkgConfig::LIBZIP PkgConfig::XXHASH m Threads::Threads)
if(CMAKE_SYSTEM_NAME STREQUAL "Linux" AND NOT MLD_SANITIZE)
  target_link_options(mldedup_shared PRIVATE -Wl,--no-undefined)
endif()
# the static library's include directory, as seen from an installed prefix too
set_target_properties(mldedup PROPERTIES EXPORT_NAME mldedup_static INTERFACE_INCLUDE_DIRECTORIES
                      "$<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/src/include>;$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")

install(TARGETS mldedup-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS mldedup mldedup_shared EXPORT mldedupTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES src/include/mldedup.h src/include/mldedup_query.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# find_package(mldedup): mldedup::mldedup is the shared library (mldedup::mldedup_static,
# mldedup::mldedup_shared name each one)
install(EXPORT mldedupTargets NAMESPACE mldedup:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mldedup)
configure_package_config_file(cmake/mldedupConfig.cmake.in ${CMAKE_BINARY_DIR}/mldedupConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mldedup)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/mldedupConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/mldedupConfig.cmake ${CMAKE_BINARY_DIR}/mldedupConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mldedup)

# pkg-config: paths relative to the prefix
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  message(FATAL_ERROR "mldedup.pc wants CMAKE_INSTALL_LIBDIR and CMAKE_INSTALL_INCLUDEDIR relative to the prefix")
endif()
# ${pcfiledir} (pkg-config and pkgconf) back to the prefix: the file is right wherever
# `cmake --install --prefix` puts it
file(RELATIVE_PATH MLD_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" MLD_PC_TO_PREFIX "${MLD_PC_TO_PREFIX}")
configure_file(cmake/mldedup.pc.in ${CMAKE_BINARY_DIR}/mldedup.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/mldedup.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# docs/mldedup.1 and completions/ come from the commands' option tables (mldedup --man,
# mldedup --completion bash|zsh); the query_man_page and cli_completions tests fail when
# they are stale ('ninja man' and 'ninja completions' rewrite them).
add_custom_target(man COMMAND mldedup-cli --man > ${CMAKE_SOURCE_DIR}/docs/mldedup.1
                  COMMENT "writing docs/mldedup.1")
add_custom_target(completions
                  COMMAND mldedup-cli --completion bash > ${CMAKE_SOURCE_DIR}/completions/mldedup.bash
                  COMMAND mldedup-cli --completion zsh > ${CMAKE_SOURCE_DIR}/completions/_mldedup
                  COMMENT "writing completions/mldedup.bash and completions/_mldedup")
install(FILES docs/mldedup.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ninja/mldedup.ninja ninja/mldedup.mk DESTINATION ${CMAKE_INSTALL_DATADIR}/mldedup)
install(FILES completions/mldedup.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME mldedup)
install(FILES completions/_mldedup DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)

# The toy export generator, for a package's own smoke test (packaging/homebrew/mldedup.rb):
# libexec/mldedup/mldedup-toygen, off the user's PATH.
option(MLD_INSTALL_TOYGEN "install mldedup-toygen as libexec/mldedup/mldedup-toygen" OFF)
if(MLD_INSTALL_TOYGEN)
  install(TARGETS mldedup-toygen RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/mldedup)
endif()
install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/mldedup)
