/* Shared helpers of the cmocka unit tests: error assertions, temp directories,
 * tensors built from literals, and protobuf-c model builders (arena-allocated). */
#ifndef MLD_TESTUTIL_H
#define MLD_TESTUTIL_H

/* cmocka needs these before its header */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "io/mil.h"
#include "core/dtype.h"
#include "tensor/tensor.h"

/* ---- assertions --------------------------------------------------------------- */

#define assert_ok(expr)                                                                                                \
	do {                                                                                                           \
		int rc_ = (expr);                                                                                      \
		if (rc_ != 0)                                                                                          \
			fail_msg("%s failed with %d: %s", #expr, rc_, mld_error_last());                               \
	} while (0)

/* `expr` must return `code`, and the last error message must contain `needle`
 * (when not NULL). */
#define assert_mld_err(expr, code, needle)                                                                             \
	do {                                                                                                           \
		int rc_ = (expr);                                                                                      \
		const char *needle_ = (needle);                                                                        \
		if (rc_ != (code))                                                                                     \
			fail_msg("%s returned %d, expected %d (message: \"%s\")", #expr, rc_, (int)(code),             \
			         mld_error_last());                                                                    \
		if (needle_ && !strstr(mld_error_last(), needle_))                                                     \
			fail_msg("%s: message \"%s\" does not contain \"%s\"", #expr, mld_error_last(), needle_);      \
	} while (0)

/* Exact float equality (bit-level for NaN-free values), with the values printed. */
#define assert_feq(a, b)                                                                                               \
	do {                                                                                                           \
		double a_ = (a), b_ = (b);                                                                             \
		if (!(a_ == b_) || !signbit(a_) != !signbit(b_))                                                       \
			fail_msg("%s = %.9g, expected %.9g", #a, a_, b_);                                              \
	} while (0)

/* ---- files -------------------------------------------------------------------- */

/* A new empty directory under $MLD_UNIT_TMPDIR, $TMPDIR or /tmp; free() the result. */
char *tu_tempdir(void);
/* rm -rf, asserting success. */
void tu_rmtree(const char *path);
/* Read a whole file (NUL-terminated for convenience); asserts it exists. */
uint8_t *tu_read_file(const char *path, size_t *len);
void tu_write_file(const char *path, const void *data, size_t len);
bool tu_exists(const char *path);
/* Number of entries in `dir` whose name contains `needle`. */
int tu_count_entries(const char *dir, const char *needle);
/* printf into a malloc'd string. */
char *tu_fmt(const char *fmt, ...) MLD_PRINTF(1, 2);

/* ---- the §3.7 worked example ----------------------------------------------------- */

extern const uint8_t tu_example_blobfile[259];
extern const uint8_t tu_example_fp16_data[8];  /* {1.0, 2.0, -0.5, 0.0} */
extern const uint8_t tu_example_uint4_data[3]; /* {1, 2, 3, 15, 7} packed */

/* ---- tensors ------------------------------------------------------------------- */

/* A tensor of dtype/shape with its dense bytes copied from `data` (NULL = zeros). */
mld_tensor *tu_tensor(mld_dtype dt, unsigned rank, const uint64_t *shape, const void *data);
/* fp16 / fp32 tensors from float literals (fp16 values rounded, but tests use exact ones). */
mld_tensor *tu_fp16(unsigned rank, const uint64_t *shape, const float *vals);
mld_tensor *tu_fp32(unsigned rank, const uint64_t *shape, const float *vals);
/* Assert dtype and shape. */
void tu_assert_shape(const mld_tensor *t, mld_dtype dt, unsigned rank, const uint64_t *shape);
/* Assert every element (read as double via mld__dense_get) equals `expect`. */
void tu_assert_values(const mld_tensor *t, const double *expect, size_t n);

/* ---- protobuf-c builders (everything lives in one arena, see tu_arena_free) ------ */

void *tu_alloc(size_t n);
char *tu_str(const char *s);
void tu_arena_free(void);

mil_value_type *tu_tensor_type(mld_dtype dt, unsigned rank, const uint64_t *shape);
mil_value *tu_blob_value(mld_dtype dt, unsigned rank, const uint64_t *shape, const char *file, uint64_t offset);
mil_value *tu_string_value(const char *s);
/* A const op with attributes {name, val} and one output named `name`. */
mil_op *tu_const_op(const char *name, mil_value *val);
/* Immediate tensor Values in the TensorValue encodings of §2.5. */
mil_value *tu_imm_bytes(mld_dtype dt, unsigned rank, const uint64_t *shape, const void *bytes, size_t len);
mil_value *tu_imm_floats(mld_dtype dt, unsigned rank, const uint64_t *shape, const float *v, size_t n);
mil_value *tu_imm_ints(mld_dtype dt, unsigned rank, const uint64_t *shape, const int32_t *v, size_t n);
/* An op of `type` with `n_out` outputs (names/types); parameters added below. */
mil_op *tu_op(const char *type, size_t n_out, const char *const *out_names, mil_value_type *const *out_types);
void tu_op_input_value(mil_op *op, const char *key, mil_value *v);    /* iOS18 form: Binding.value */
void tu_op_input_name(mil_op *op, const char *key, const char *name); /* Binding.name (a producer) */
void tu_op_attr(mil_op *op, const char *key, mil_value *v);           /* iOS16 form: attribute */
mil_block *tu_block(mil_op **ops, size_t n_ops, const char *output);
mil_function *tu_function(const char *opset, mil_block *blk);
/* An ML Program Model of `n` functions (multifunction description when n > 1). */
mil_model *tu_ml_program(int spec, size_t n, const char *const *names, mil_function **fns);

#endif
