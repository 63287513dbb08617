/* What the fuzz targets share (fuzz_common.c).
 *
 * Every target reads packages from memory: the base packages below are built once
 * per process by the synthetic-package writer (tests/cli/synth.c) and kept as bytes;
 * an input replaces one of their files, and the result is registered as an
 * in-memory package (mld__memsrc_*, src/lib/io/source.h). No file is written per
 * input.
 *
 * Each target is built twice (tests/fuzz/CMakeLists.txt): against libFuzzer with
 * -DMLD_FUZZ=ON and clang (<name>_fuzzer), and against standalone_driver.c, which
 * replays corpus/<name>/ as the ctest test fuzz_<name> in every build. */
#ifndef MLD_FUZZ_H
#define MLD_FUZZ_H

#include "mldedup.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The files of a package, by kind. */
enum { FZ_MODEL, FZ_WEIGHTS, FZ_MANIFEST, FZ_N_FILES, FZ_ZIP = FZ_N_FILES };
extern const char *const fz_rel[FZ_N_FILES];

/* The base packages: every constexpr form (all_ops); an iOS16 program (spec 7,
 * CoreML6, with the ops whose meaning changed by iOS18); two functions sharing
 * blobs. */
enum { FZ_BASE_ALL, FZ_BASE_IOS16, FZ_BASE_TWO_FN, FZ_N_BASES };

typedef struct fz_files {
	uint8_t *data[FZ_N_FILES];
	size_t len[FZ_N_FILES];
} fz_files;

const fz_files *fz_base(int which);

/* Register `path` as an in-memory package: base `which` with the file `kind`
 * replaced by data (FZ_ZIP: data is a whole zip, registered as one). */
void fz_register(const char *path, int which, int kind, const uint8_t *data, size_t len);
/* Register `path` from explicit files (NULL data: the file is absent). */
void fz_register_files(const char *path, const fz_files *f);
/* Forget every registered package (after every package opened from them is freed). */
void fz_reset(void);

/* The properties every opened package must have, checked on every weight: a
 * failure always says why; the streaming content digest (what index records) and
 * the full decode agree on success and on failure; digests are deterministic.
 * Aborts (a finding) when one does not hold. */
void fz_check_package(mld_package *p);
/* Write the package into memory, open what was written, and check it holds the
 * same weights with the same contents (the writer's round trip). */
void fz_check_roundtrip(mld_package *p);

/* An error message must say something, and (for a package) name it. */
void fz_check_error(int rc, const char *must_name);

/* One package input: base `which` with file `kind` replaced by data (FZ_ZIP: a
 * whole zip), opened from memory and checked (fz_check_package; with roundtrip,
 * fz_check_roundtrip too). A failure to open must name the package. */
void fz_package_input(int which, int kind, const uint8_t *data, size_t len, bool roundtrip);

/* Abort with a message: a finding. */
#define FZ_ASSERT(cond, ...)                                                                                           \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fz_fail(__FILE__, __LINE__, __VA_ARGS__);                                                      \
		}                                                                                                      \
	} while (0)
_Noreturn void fz_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Split an input at the 4-byte separator "\nMLD" into at most max parts;
 * returns the count. */
#define FZ_SEP "\nMLD"
size_t fz_split(const uint8_t *data, size_t size, const uint8_t **parts, size_t *lens, size_t max);

#endif
