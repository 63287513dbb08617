/* Decoding Values (immediates per §2.5, blobs per §3) and evaluating constexpr
 * chains inside a written package (§4.1 input and attribute forms, §4.4 chains). */
#include "testutil.h"

#include "core/arena.h"
#include "core/platform.h"
#include "io/package.h"
#include "tensor/wread.h"
#include "write/pkgwrite.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#define DIMS(...)                                                                                                      \
	(unsigned)(sizeof((uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t)), (const uint64_t[]) { __VA_ARGS__ }
#define WEIGHT_FILE "@model_path/weights/weight.bin"

static char *tmpdir;

static int setup(void **state)
{
	(void)state;
	tmpdir = tu_tempdir();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmtree(tmpdir);
	free(tmpdir);
	tu_arena_free();
	return 0;
}

typedef struct blobspec {
	const void *data;
	uint64_t size;
	uint32_t padding;
} blobspec;

/* Write a one-function ("main") model made of `ops` as a package and open it. Blob
 * values get the bytes of `blobs`, in walk order. */
static mld_package *write_open(mil_op **ops, size_t n_ops, const blobspec *blobs, size_t n_blobs)
{
	mil_function *fn = tu_function("CoreML8", tu_block(ops, n_ops, NULL));
	const char *names[1] = {"main"};
	mil_model *am = tu_ml_program(9, 1, names, &fn);
	size_t n = core_ml__specification__model__get_packed_size(am);
	uint8_t *buf = malloc(n);
	core_ml__specification__model__pack(am, buf);
	mil_model *m = core_ml__specification__model__unpack(NULL, n, buf);
	free(buf);
	assert_non_null(m);
	mil_value **vals = NULL;
	size_t nv = 0;
	assert_ok(mld__model_blob_values(&vals, &nv, m));
	assert_int_equal(nv, n_blobs);
	mld__blob_item items[8];
	for (size_t i = 0; i < nv; i++)
		items[i] = (mld__blob_item){vals[i],
		                            0,
		                            i,
		                            blobs[i].data,
		                            blobs[i].size,
		                            blobs[i].padding,
		                            (mld_dtype)vals[i]->type->tensortype->datatype};
	static int seq;
	char *path = tu_fmt("%s/m%d.mlpackage", tmpdir, seq++);
	assert_ok(mld__write_package(m, items, nv, path, 0));
	free(vals);
	core_ml__specification__model__free_unpacked(m, NULL);
	mld_package *pkg = NULL;
	assert_ok(mld_package_open(&pkg, path));
	free(path);
	return pkg;
}

static mld_tensor *decode(const mld_package *pkg, const char *name)
{
	const mld_weight *w = NULL;
	assert_ok(mld_package_find_weight(&w, pkg, "main", name));
	mld_tensor *t = NULL;
	assert_ok(mld_weight_decode(&t, pkg, w));
	return t;
}

static mil_op *op1(const char *type, const char *out, mil_value_type *ty)
{
	const char *names[1] = {out};
	mil_value_type *types[1] = {ty};
	return tu_op(type, 1, names, types);
}

/* ---- immediates, per the §2.5 table ------------------------------------------------------ */

static mld_tensor *imm(mil_value *v)
{
	mld_tensor *t = NULL;
	assert_ok(mld__value_decode(&t, NULL, v, "test value"));
	return t;
}

static void test_immediate_encodings(void **state)
{
	(void)state;
	mld_tensor *t;
	/* FLOAT16 as bytes */
	uint16_t h[3] = {0x3C00, 0xB800, 0x7BFF};
	t = imm(tu_imm_bytes(MLD_DT_FP16, DIMS(3), h, 6));
	tu_assert_values(t, (double[]){1, -0.5, 65504}, 3);
	mld_tensor_free(t);
	/* FLOAT32 as floats; FLOAT16 given as floats is converted */
	t = imm(tu_imm_floats(MLD_DT_FP32, DIMS(2, 1), (float[]){1.5f, -3}, 2));
	tu_assert_shape(t, MLD_DT_FP32, DIMS(2, 1));
	tu_assert_values(t, (double[]){1.5, -3}, 2);
	mld_tensor_free(t);
	t = imm(tu_imm_floats(MLD_DT_FP16, DIMS(2), (float[]){0.25f, 2048}, 2));
	assert_int_equal(mld__rd16(t->data), 0x3400);
	mld_tensor_free(t);
	/* INT8 / UINT8 / UINT32 as bytes */
	t = imm(tu_imm_bytes(MLD_DT_INT8, DIMS(3), (int8_t[]){-128, 0, 127}, 3));
	tu_assert_values(t, (double[]){-128, 0, 127}, 3);
	mld_tensor_free(t);
	t = imm(tu_imm_bytes(MLD_DT_UINT32, DIMS(2), (uint8_t[]){1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}, 8));
	tu_assert_values(t, (double[]){1, 4294967295.0}, 2);
	mld_tensor_free(t);
	/* sub-byte types as packed bytes: uint4 and int4 rows of §3.5, uint6 straddling */
	t = imm(tu_imm_bytes(MLD_DT_UINT4, DIMS(5), (uint8_t[]){0x21, 0xF3, 0x07}, 3));
	tu_assert_values(t, (double[]){1, 2, 3, 15, 7}, 5);
	mld_tensor_free(t);
	t = imm(tu_imm_bytes(MLD_DT_INT4, DIMS(5), (uint8_t[]){0x2F, 0x78, 0x0D}, 3));
	tu_assert_values(t, (double[]){-1, 2, -8, 7, -3}, 5);
	mld_tensor_free(t);
	t = imm(tu_imm_bytes(MLD_DT_UINT6, DIMS(2, 2), (uint8_t[]){0xC1, 0x0F, 0xA8}, 3));
	tu_assert_values(t, (double[]){1, 63, 0, 42}, 4);
	mld_tensor_free(t);
	t = imm(tu_imm_bytes(MLD_DT_UINT1, DIMS(9), (uint8_t[]){0x8D, 0x01}, 2));
	tu_assert_values(t, (double[]){1, 0, 1, 1, 0, 0, 0, 1, 1}, 9);
	mld_tensor_free(t);
	/* INT16 / UINT16 / INT32 as ints (widened to int32) */
	t = imm(tu_imm_ints(MLD_DT_INT16, DIMS(3), (int32_t[]){-32768, -1, 32767}, 3));
	tu_assert_values(t, (double[]){-32768, -1, 32767}, 3);
	mld_tensor_free(t);
	t = imm(tu_imm_ints(MLD_DT_UINT16, DIMS(2), (int32_t[]){0, 65535}, 2));
	tu_assert_values(t, (double[]){0, 65535}, 2);
	mld_tensor_free(t);
	t = imm(tu_imm_ints(MLD_DT_INT32, 0, NULL, (int32_t[]){-7}, 1));
	assert_int_equal(t->rank, 0);
	tu_assert_values(t, (double[]){-7}, 1);
	mld_tensor_free(t);
	/* an empty tensor */
	t = imm(tu_imm_bytes(MLD_DT_FP16, DIMS(0, 4), NULL, 0));
	assert_int_equal(t->count, 0);
	mld_tensor_free(t);
}

static void test_immediate_errors(void **state)
{
	(void)state;
	mld_tensor *t = NULL;
	/* wrong number of values / bytes */
	assert_mld_err(mld__value_decode(&t, NULL, tu_imm_floats(MLD_DT_FP32, DIMS(3), (float[]){1, 2}, 2), "p"),
	               MLD_EFORMAT, "p");
	assert_mld_err(mld__value_decode(&t, NULL, tu_imm_bytes(MLD_DT_FP16, DIMS(3), (uint8_t[]){0, 0, 0, 0}, 4), "p"),
	               MLD_EFORMAT, "expected 6");
	assert_mld_err(mld__value_decode(&t, NULL, tu_imm_bytes(MLD_DT_UINT4, DIMS(5), (uint8_t[]){1, 2}, 2), "p"),
	               MLD_EFORMAT, "expected 3");
	/* values of the wrong kind */
	assert_mld_err(mld__value_decode(&t, NULL, tu_imm_floats(MLD_DT_INT8, DIMS(1), (float[]){1}, 1), "p"),
	               MLD_EFORMAT, "int8");
	assert_mld_err(mld__value_decode(&t, NULL, tu_imm_ints(MLD_DT_FP32, DIMS(1), (int32_t[]){1}, 1), "p"),
	               MLD_EFORMAT, "fp32");
	/* strings have no dense form */
	assert_mld_err(mld__value_decode(&t, NULL, tu_string_value("x"), "p"), MLD_EUNSUPPORTED, "string");
	assert_null(t);
}

/* Integers that do not fit the declared dtype are malformed, not silently wrapped:
 * a uint2 "index" of 200 must never reach a 4-entry palette. */
static void test_immediate_ints_out_of_range(void **state)
{
	(void)state;
	mld_tensor *t = NULL;
	static const struct {
		mld_dtype dt;
		int32_t bad, good;
	} cases[] = {
		{MLD_DT_UINT1, 2, 1},          {MLD_DT_UINT2, 4, 3},   {MLD_DT_UINT3, 8, 7},
		{MLD_DT_UINT4, 16, 15},        {MLD_DT_UINT6, 64, 63}, {MLD_DT_UINT4, -1, 0},
		{MLD_DT_INT4, 8, 7},           {MLD_DT_INT4, -9, -8},  {MLD_DT_INT8, 128, -128},
		{MLD_DT_UINT8, 256, 255},      {MLD_DT_UINT8, -1, 0},  {MLD_DT_INT16, 32768, -32768},
		{MLD_DT_UINT16, 65536, 65535}, {MLD_DT_UINT16, -1, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int rc = mld__value_decode(
			&t, NULL, tu_imm_ints(cases[i].dt, DIMS(2), (int32_t[]){cases[i].good, cases[i].bad}, 2), "p");
		if (rc != MLD_EFORMAT)
			fail_msg("%s value %d: rc %d, expected MLD_EFORMAT", mld_dtype_name(cases[i].dt), cases[i].bad,
			         rc);
		assert_null(t);
		assert_ok(mld__value_decode(&t, NULL, tu_imm_ints(cases[i].dt, DIMS(1), &cases[i].good, 1), "p"));
		tu_assert_values(t, (double[]){cases[i].good}, 1);
		mld_tensor_free(t);
		t = NULL;
	}
}

static void test_hostile_lut_indices(void **state)
{
	(void)state;
	/* iOS18 lut_to_dense whose uint2 indices arrive as ints, one of them 200 */
	mil_op *lut = op1("constexpr_lut_to_dense", "w", tu_tensor_type(MLD_DT_FP32, DIMS(4)));
	tu_op_input_value(lut, "indices", tu_imm_ints(MLD_DT_UINT2, DIMS(4), (int32_t[]){0, 200, 1, 2}, 4));
	tu_op_input_value(lut, "lut", tu_imm_floats(MLD_DT_FP32, DIMS(1, 4, 1), (float[]){1, 2, 3, 4}, 4));
	mld_package *pkg = write_open(&lut, 1, NULL, 0);
	const mld_weight *w = NULL;
	assert_ok(mld_package_find_weight(&w, pkg, "main", "w"));
	mld_tensor *t = NULL;
	assert_mld_err(mld_weight_decode(&t, pkg, w), MLD_EFORMAT, "\"w\"");
	assert_null(t);
	mld_package_free(pkg);
}

/* ---- constexpr ops inside a package ------------------------------------------------------- */

/* The §4.3 worked example with both parameters blob-stored: uint2 indices (packed LSB
 * first) and the fp16 lut, as the one weight "w" of a package. */
static mld_package *worked_example_package(void)
{
	static const uint8_t idx[3] = {0x3E, 0x31, 0xC6};
	uint16_t lutv[8];
	static const float lf[8] = {1, 5, 9, 13, 2, 10, 18, 26};
	for (int i = 0; i < 8; i++)
		lutv[i] = mld__float_to_half(lf[i]);
	mil_op *op = op1("constexpr_lut_to_dense", "w", tu_tensor_type(MLD_DT_FP16, DIMS(6, 2)));
	tu_op_input_value(op, "indices", tu_blob_value(MLD_DT_UINT2, DIMS(6, 2), WEIGHT_FILE, 0));
	tu_op_input_value(op, "lut", tu_blob_value(MLD_DT_FP16, DIMS(2, 1, 4, 1), WEIGHT_FILE, 0));
	blobspec blobs[2] = {{idx, 3, 0}, {lutv, 16, 0}};
	mld_package *pkg = write_open(&op, 1, blobs, 2);
	return pkg;
}

static void test_worked_example_from_blobs(void **state)
{
	(void)state;
	mld_package *pkg = worked_example_package();
	assert_int_equal(mld_package_weight_count(pkg), 1);
	const mld_weight *w = mld_package_weight(pkg, 0);
	assert_string_equal(mld_weight_chain(w), "constexpr_lut_to_dense");
	assert_int_equal(mld_weight_blob_count(w), 2);
	assert_string_equal(mld_weight_blob(w, 0)->param, "indices");
	assert_int_equal(mld_weight_blob(w, 0)->dtype, MLD_DT_UINT2);
	assert_int_equal(mld_weight_blob(w, 0)->offset, 64);
	assert_string_equal(mld_weight_blob(w, 1)->param, "lut");
	assert_int_equal(mld_weight_blob(w, 1)->offset, 192);
	assert_int_equal(mld_weight_encoded_bytes(w), 3 + 16);
	mld_tensor *t = decode(pkg, "w");
	tu_assert_shape(t, MLD_DT_FP16, DIMS(6, 2));
	tu_assert_values(t, (double[]){9, 13, 13, 1, 5, 1, 26, 2, 18, 10, 2, 26}, 12);
	mld_tensor_free(t);
	mld_package_free(pkg);
}

static void test_chain_by_name(void **state)
{
	(void)state;
	/* lut_to_dense (int8 palette) -> blockwise_shift_scale: the §4.4 quantized-LUT pattern */
	mil_op *lut = op1("constexpr_lut_to_dense", "q", tu_tensor_type(MLD_DT_INT8, DIMS(2, 2)));
	tu_op_input_value(lut, "indices", tu_imm_bytes(MLD_DT_UINT2, DIMS(2, 2), (uint8_t[]){0x9C}, 1));
	tu_op_input_value(lut, "lut", tu_imm_bytes(MLD_DT_INT8, DIMS(1, 1, 4, 1), (int8_t[]){-4, -1, 2, 5}, 4));
	mil_op *ss = op1("constexpr_blockwise_shift_scale", "w", tu_tensor_type(MLD_DT_FP16, DIMS(2, 2)));
	tu_op_input_name(ss, "data", "q");
	uint16_t sc[2] = {mld__float_to_half(0.5f), mld__float_to_half(1.5f)};
	tu_op_input_value(ss, "scale", tu_imm_bytes(MLD_DT_FP16, DIMS(2, 1), sc, 4));
	tu_op_input_value(ss, "offset", tu_imm_bytes(MLD_DT_INT8, DIMS(2, 1), (int8_t[]){1, -1}, 2));
	mil_op *ops[2] = {lut, ss};
	mld_package *pkg = write_open(ops, 2, NULL, 0);
	/* the lut output only feeds the chain: one weight */
	assert_int_equal(mld_package_weight_count(pkg), 1);
	const mld_weight *w = mld_package_weight(pkg, 0);
	assert_string_equal(mld_weight_name(w), "w");
	assert_string_equal(mld_weight_chain(w), "constexpr_lut_to_dense+constexpr_blockwise_shift_scale");
	mld_tensor *t = decode(pkg, "w");
	tu_assert_shape(t, MLD_DT_FP16, DIMS(2, 2));
	tu_assert_values(t, (double[]){-2.5, 2, 0, 4.5}, 4);
	mld_tensor_free(t);
	mld_package_free(pkg);
}

/* lut_to_sparse -> (mask "m", nonzero "nz"), its palette [10, 20, 30, 40] immediate or
 * (lut_blob) stored as a blob. */
static mil_op *lut_to_sparse_op(bool lut_blob)
{
	const char *names[2] = {"m", "nz"};
	mil_value_type *types[2] = {tu_tensor_type(MLD_DT_UINT1, DIMS(2, 3)), tu_tensor_type(MLD_DT_FP32, DIMS(3))};
	mil_op *lts = tu_op("constexpr_lut_to_sparse", 2, names, types);
	tu_op_input_value(lts, "indices_mask", tu_imm_bytes(MLD_DT_UINT1, DIMS(2, 3), (uint8_t[]){0x15}, 1));
	tu_op_input_value(lts, "indices_nonzero_data", tu_imm_bytes(MLD_DT_UINT2, DIMS(3), (uint8_t[]){0x23}, 1));
	tu_op_input_value(lts, "lut",
	                  lut_blob ? tu_blob_value(MLD_DT_FP32, DIMS(1, 1, 4, 1), WEIGHT_FILE, 0)
	                           : tu_imm_floats(MLD_DT_FP32, DIMS(1, 1, 4, 1), (float[]){10, 20, 30, 40}, 4));
	return lts;
}

/* sparse_to_dense of lut_to_sparse_op's outputs, as `name`. */
static mil_op *sparse_to_dense_op(const char *name)
{
	mil_op *std = op1("constexpr_sparse_to_dense", name, tu_tensor_type(MLD_DT_FP32, DIMS(2, 3)));
	tu_op_input_name(std, "nonzero_data", "nz");
	tu_op_input_name(std, "mask", "m");
	return std;
}

static void test_two_output_chain(void **state)
{
	(void)state;
	/* lut_to_sparse -> (mask, nz) -> sparse_to_dense */
	mil_op *ops[2] = {lut_to_sparse_op(false), sparse_to_dense_op("w")};
	mld_package *pkg = write_open(ops, 2, NULL, 0);
	assert_int_equal(mld_package_weight_count(pkg), 1);
	const mld_weight *w = mld_package_weight(pkg, 0);
	assert_string_equal(mld_weight_chain(w), "constexpr_lut_to_sparse+constexpr_sparse_to_dense");
	mld_tensor *t = decode(pkg, "w");
	tu_assert_values(t, (double[]){40, 0, 10, 0, 30, 0}, 6);
	mld_tensor_free(t);
	mld_package_free(pkg);
}

/* An opened package holds no parsed model: its weights own copies of their chain ops
 * and strings, two weights sharing an op share its copy, and they decode and digest
 * as before. */
static void test_weights_outlive_model(void **state)
{
	(void)state;
	mil_op *ops[3] = {lut_to_sparse_op(true), sparse_to_dense_op("w1"), sparse_to_dense_op("w2")};
	static const float lut[4] = {10, 20, 30, 40};
	blobspec blobs[1] = {{lut, 16, 0}};
	mld_package *pkg = write_open(ops, 3, blobs, 1);
	assert_null(pkg->model);
	assert_int_equal(mld_package_spec_version(pkg), 9);
	assert_int_equal(pkg->program_version, 1);
	assert_int_equal(mld_package_weight_count(pkg), 2);
	const mld_weight *a = mld_package_weight(pkg, 0), *b = mld_package_weight(pkg, 1);
	assert_string_equal(mld_weight_name(a), "w1");
	assert_string_equal(mld_weight_name(b), "w2");
	assert_int_equal(a->n_ops, 2);
	assert_int_equal(b->n_ops, 2);
	assert_ptr_equal(a->ops[0], b->ops[0]); /* the shared lut_to_sparse: one copy */
	assert_ptr_not_equal(a->ops[1], b->ops[1]);
	for (size_t i = 0; i < 2; i++) {
		assert_true(mld__arena_contains(pkg->chain_arena, a->ops[i]));
		assert_true(mld__arena_contains(pkg->chain_arena, b->ops[i]));
	}
	assert_true(mld__arena_contains(pkg->chain_arena, mld_weight_name(a)));
	assert_int_equal(mld_weight_blob_count(a), 1);
	assert_string_equal(mld_weight_blob(a, 0)->file, WEIGHT_FILE);
	assert_true(mld__arena_contains(pkg->chain_arena, mld_weight_blob(a, 0)->file));
	assert_true(mld__arena_contains(pkg->chain_arena, mld_weight_blob(a, 0)->param));
	assert_int_equal(pkg->n_blob_files, 1);
	assert_true(mld__arena_contains(pkg->chain_arena, pkg->blob_files[0]));
	for (size_t i = 0; i < pkg->n_fns; i++) {
		assert_null(pkg->fns[i].fn);
		assert_null(pkg->fns[i].prods);
	}
	mld_tensor *t = decode(pkg, "w1");
	tu_assert_values(t, (double[]){40, 0, 10, 0, 30, 0}, 6);
	mld_tensor_free(t);
	t = decode(pkg, "w2");
	tu_assert_values(t, (double[]){40, 0, 10, 0, 30, 0}, 6);
	mld_tensor_free(t);
	mld_digest da, db;
	assert_ok(mld_weight_encoding_digest(&da, pkg, a));
	assert_ok(mld_weight_encoding_digest(&db, pkg, b));
	assert_memory_equal(da.bytes, db.bytes, 16); /* the same chain, the same bytes */
	mld_package_free(pkg);
}

/* A combine lets each source's model bytes go after the open and reads them again to
 * write: the same bytes, or an error naming the file when it changed in between. */
static void test_model_bytes_read_again(void **state)
{
	(void)state;
	mil_op *c = tu_const_op("w", tu_blob_value(MLD_DT_FP16, DIMS(4), WEIGHT_FILE, 0));
	static const uint16_t v[4] = {1, 2, 3, 4};
	blobspec blobs[1] = {{v, 8, 0}};
	mld_package *pkg = write_open(&c, 1, blobs, 1);
	size_t len = pkg->model_len;
	uint8_t *orig = malloc(len);
	memcpy(orig, pkg->model_bytes, len);
	const uint8_t *b;
	size_t n;
	uint8_t *owned;
	assert_ok(mld__package_model_read(pkg, &b, &n, &owned)); /* held: no copy */
	assert_ptr_equal(b, pkg->model_bytes);
	assert_null(owned);
	mld__package_drop_model_bytes(pkg);
	assert_null(pkg->model_bytes);
	assert_ok(mld__package_model_read(pkg, &b, &n, &owned));
	assert_non_null(owned);
	assert_int_equal(n, len);
	assert_memory_equal(b, orig, len);
	free(owned);
	/* the model changes on disk, same length: refused */
	char *path = tu_fmt("%s/%s", mld_package_path(pkg), pkg->model_rel);
	orig[len - 1] ^= 1;
	tu_write_file(path, orig, len);
	assert_mld_err(mld__package_model_read(pkg, &b, &n, &owned), MLD_ERROR, "model.mlmodel: changed while");
	assert_null(owned);
	free(path);
	free(orig);
	mld_package_free(pkg);
}

/* Whether letting pages go shows in the resident size here: it cannot be read on
 * every system, and qemu-user before 8.1 takes MADV_DONTNEED as a hint it ignores. */
static bool release_shows(void)
{
	char *path = tu_fmt("%s/probe.release", tmpdir);
	size_t len = 4u << 20;
	uint8_t *b = calloc(1, len);
	tu_write_file(path, b, len);
	free(b);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	const volatile uint8_t *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(m != MAP_FAILED);
	unsigned sum = 0;
	for (size_t i = 0; i < len; i += 4096)
		sum += m[i];
	long before = mld__mapping_resident_kib((const void *)m);
	mld__mem_release((const void *)m, len);
	long after = mld__mapping_resident_kib((const void *)m);
	munmap((void *)m, len);
	close(fd);
	free(path);
	return sum == 0 && before >= 2048 && after < before / 2;
}

/* A streaming reader of w, buffered (mld__wread_buffer) or reading the mapping. */
static void open_streaming(mld__wread *r, const mld_package *pkg, const mld_weight *w, bool buffered)
{
	assert_ok(mld__wread_open(r, pkg, w, false));
	assert_true(mld__wread_streams(r));
	if (buffered)
		assert_ok(mld__wread_buffer(r));
}

/* Reading a weight a block at a time lets the pages behind go: 64 MiB of fp16 read
 * through leave a few MiB of the weight file resident, so that a comparison reading a
 * weight in every function at once holds no more per function. */
static void test_stream_lets_pages_go(void **state)
{
	(void)state;
	if (!release_shows()) {
		print_message("skipped: letting pages go does not show in the resident size here (no "
		              "readable resident size, or qemu-user ignoring MADV_DONTNEED)\n");
		skip();
	}
	const uint64_t count = 32u << 20;
	uint16_t *vals = malloc(count * 2);
	assert_non_null(vals);
	for (uint64_t i = 0; i < count; i++)
		vals[i] = (uint16_t)(i * 40503u);
	mil_op *c = tu_const_op("w", tu_blob_value(MLD_DT_FP16, DIMS(count), WEIGHT_FILE, 0));
	blobspec blobs[1] = {{vals, count * 2, 0}};
	mld_package *pkg = write_open(&c, 1, blobs, 1);
	const mld_weight *w = mld_package_weight(pkg, 0);
	/* through the mapping, then buffered (mld__wread_buffer: read with pread, so that
	 * no more than the metadata is ever mapped, and that let go at the open) */
	for (int buffered = 0; buffered < 2; buffered++) {
		mld__source_release_all(pkg->src);
		mld__wread r;
		open_streaming(&r, pkg, w, buffered);
		const void *data;
		uint64_t n, at = 0, bad = 0;
		long most = 0;
		while (!mld__wread_next(&r, &data, &n) && n) {
			const uint16_t *v = data;
			for (uint64_t i = 0; i < n; i++)
				bad += v[i] != vals[at + i];
			at += n;
			long kib = at % (4u << 20) ? 0 : mld__mapping_resident_kib(r.src);
			most = kib > most ? kib : most;
		}
		assert_int_equal(at, count);
		assert_int_equal(bad, 0);
		long kib = mld__mapping_resident_kib(r.src);
		most = kib > most ? kib : most;
		mld__wread_close(&r);
		if (most >= (buffered ? 64 : 8192))
			fail_msg("%s: up to %ld KiB of the 64 MiB weight file resident while reading it through, want "
			         "< %d KiB",
			         buffered ? "buffered" : "mapped", most, buffered ? 64 : 8192);
	}
	free(vals);
	mld_package_free(pkg);
}

/* A buffered reader gives the values of the mapped one, for a palettized weight too. */
static void test_buffered_lut_reader(void **state)
{
	(void)state;
	mld_package *pkg = worked_example_package();
	const mld_weight *w = mld_package_weight(pkg, 0);
	uint16_t got[2][12];
	for (int buffered = 0; buffered < 2; buffered++) {
		mld__wread r;
		open_streaming(&r, pkg, w, buffered);
		const void *data;
		uint64_t n;
		assert_ok(mld__wread_next(&r, &data, &n));
		assert_int_equal(n, 12);
		memcpy(got[buffered], data, sizeof got[buffered]);
		assert_ok(mld__wread_next(&r, &data, &n));
		assert_int_equal(n, 0);
		mld__wread_close(&r);
	}
	assert_memory_equal(got[0], got[1], sizeof got[0]);
	static const double want[12] = {9, 13, 13, 1, 5, 1, 26, 2, 18, 10, 2, 26};
	for (int i = 0; i < 12; i++)
		assert_true(mld__half_to_float(got[1][i]) == (float)want[i]);
	/* a copy out of the mapping is the mapping's bytes */
	const uint8_t *map;
	uint64_t len;
	assert_ok(mld__package_blobfile(pkg, WEIGHT_FILE, &map, &len, NULL));
	uint8_t *copy = malloc(len);
	assert_ok(mld__source_copy(pkg->src, copy, map, (size_t)len));
	assert_memory_equal(copy, map, len);
	free(copy);
	mld_package_free(pkg);
}

/* A reader touching bytes here and there lets the pages around its last touch go once
 * it moves far from it (one touch can map a whole large folio), and not before. */
static void test_far_touch_lets_pages_go(void **state)
{
	(void)state;
	if (!release_shows()) {
		print_message("skipped: letting pages go does not show in the resident size here\n");
		skip();
	}
	const uint64_t count = 8u << 20; /* 16 MiB of fp16 */
	uint16_t *vals = calloc(count, 2);
	assert_non_null(vals);
	mil_op *c = tu_const_op("w", tu_blob_value(MLD_DT_FP16, DIMS(count), WEIGHT_FILE, 0));
	blobspec blobs[1] = {{vals, count * 2, 0}};
	mld_package *pkg = write_open(&c, 1, blobs, 1);
	free(vals);
	mld__source_release_all(pkg->src);
	const uint8_t *map, *last = NULL;
	uint64_t len;
	assert_ok(mld__package_blobfile(pkg, WEIGHT_FILE, &map, &len, NULL));
	const volatile uint8_t *m = map;
	unsigned sum = m[128];
	mld__source_touched(pkg->src, &last, map + 128);
	sum += m[128 + (1u << 20)]; /* near: nothing goes */
	long before = mld__mapping_resident_kib(map);
	mld__source_touched(pkg->src, &last, map + 128 + (1u << 20));
	assert_int_equal(mld__mapping_resident_kib(map), before);
	sum += m[12u << 20]; /* far: the pages around the last touch go */
	before = mld__mapping_resident_kib(map);
	mld__source_touched(pkg->src, &last, map + (12u << 20));
	long after = mld__mapping_resident_kib(map);
	assert_ptr_equal(last, map + (12u << 20));
	assert_int_equal(sum, 0);
	mld_package_free(pkg);
	if (after >= before)
		fail_msg("resident %ld KiB after the far touch, %ld before: nothing went", after, before);
}

static void test_ios16_attribute_form(void **state)
{
	(void)state;
	/* constexpr_affine_dequantize: every parameter an attribute */
	mil_op *aq = op1("constexpr_affine_dequantize", "w", tu_tensor_type(MLD_DT_FP32, DIMS(2, 3)));
	tu_op_attr(aq, "quantized_data",
	           tu_imm_bytes(MLD_DT_UINT8, DIMS(2, 3), (uint8_t[]){0, 128, 255, 10, 20, 30}, 6));
	tu_op_attr(aq, "zero_point", tu_imm_bytes(MLD_DT_UINT8, DIMS(2), (uint8_t[]){128, 10}, 2));
	tu_op_attr(aq, "scale", tu_imm_floats(MLD_DT_FP32, DIMS(2), (float[]){0.5f, 2}, 2));
	tu_op_attr(aq, "axis", tu_imm_ints(MLD_DT_INT32, 0, NULL, (int32_t[]){0}, 1));
	/* iOS16 lut_to_dense with a shape attribute and 6-bit indices (§3.5 row) */
	float lv[64];
	for (int p = 0; p < 64; p++)
		lv[p] = (float)p + 0.25f;
	mil_op *l16 = op1("constexpr_lut_to_dense", "l", tu_tensor_type(MLD_DT_FP32, DIMS(2, 2)));
	tu_op_attr(l16, "indices", tu_imm_bytes(MLD_DT_UINT8, DIMS(3), (uint8_t[]){0xC1, 0x0F, 0xA8}, 3));
	tu_op_attr(l16, "lut", tu_imm_floats(MLD_DT_FP32, DIMS(64), lv, 64));
	tu_op_attr(l16, "shape", tu_imm_bytes(MLD_DT_UINT32, DIMS(2), (uint32_t[]){2, 2}, 8));
	/* iOS18 constexpr_cast */
	mil_op *cast = op1("constexpr_cast", "c", tu_tensor_type(MLD_DT_FP32, DIMS(2)));
	tu_op_input_value(cast, "source_val", tu_imm_bytes(MLD_DT_FP16, DIMS(2), (uint16_t[]){0x3C00, 0xC400}, 4));
	tu_op_input_value(cast, "output_dtype", tu_string_value("fp32"));
	mil_op *ops[3] = {aq, l16, cast};
	mld_package *pkg = write_open(ops, 3, NULL, 0);
	assert_int_equal(mld_package_weight_count(pkg), 3);
	mld_tensor *t = decode(pkg, "w");
	tu_assert_values(t, (double[]){-64, 0, 63.5, 0, 20, 40}, 6);
	mld_tensor_free(t);
	t = decode(pkg, "l");
	tu_assert_values(t, (double[]){1.25, 63.25, 0.25, 42.25}, 4);
	mld_tensor_free(t);
	t = decode(pkg, "c");
	tu_assert_values(t, (double[]){1, -4}, 2);
	mld_tensor_free(t);
	mld_package_free(pkg);
}

static void test_decode_errors(void **state)
{
	(void)state;
	/* declared output type disagrees with the computed one */
	mil_op *bad_type = op1("constexpr_lut_to_dense", "t", tu_tensor_type(MLD_DT_FP16, DIMS(4)));
	tu_op_input_value(bad_type, "indices", tu_imm_bytes(MLD_DT_UINT2, DIMS(4), (uint8_t[]){0xE4}, 1));
	tu_op_input_value(bad_type, "lut", tu_imm_floats(MLD_DT_FP32, DIMS(1, 4, 1), (float[]){1, 2, 3, 4}, 4));
	mil_op *bad_shape = op1("constexpr_lut_to_dense", "s", tu_tensor_type(MLD_DT_FP32, DIMS(2, 2)));
	tu_op_input_value(bad_shape, "indices", tu_imm_bytes(MLD_DT_UINT2, DIMS(4), (uint8_t[]){0xE4}, 1));
	tu_op_input_value(bad_shape, "lut", tu_imm_floats(MLD_DT_FP32, DIMS(1, 4, 1), (float[]){1, 2, 3, 4}, 4));
	/* a required parameter missing */
	mil_op *missing = op1("constexpr_blockwise_shift_scale", "m", tu_tensor_type(MLD_DT_FP32, DIMS(2)));
	tu_op_input_value(missing, "data", tu_imm_bytes(MLD_DT_INT8, DIMS(2), (int8_t[]){1, 2}, 2));
	/* an op mldedup does not know */
	mil_op *unknown = op1("constexpr_future_thing", "u", tu_tensor_type(MLD_DT_FP32, DIMS(2)));
	/* the good one, to show the package itself is fine */
	mil_op *good = op1("constexpr_lut_to_dense", "g", tu_tensor_type(MLD_DT_FP32, DIMS(4)));
	tu_op_input_value(good, "indices", tu_imm_bytes(MLD_DT_UINT2, DIMS(4), (uint8_t[]){0xE4}, 1));
	tu_op_input_value(good, "lut", tu_imm_floats(MLD_DT_FP32, DIMS(1, 4, 1), (float[]){1, 2, 3, 4}, 4));
	mil_op *ops[5] = {bad_type, bad_shape, missing, unknown, good};
	mld_package *pkg = write_open(ops, 5, NULL, 0);
	const mld_weight *w = NULL;
	mld_tensor *t = NULL;
	assert_ok(mld_package_find_weight(&w, pkg, "main", "t"));
	assert_mld_err(mld_weight_decode(&t, pkg, w), MLD_EFORMAT, "declared output");
	assert_ok(mld_package_find_weight(&w, pkg, "main", "s"));
	assert_mld_err(mld_weight_decode(&t, pkg, w), MLD_EFORMAT, "declared output");
	assert_ok(mld_package_find_weight(&w, pkg, "main", "m"));
	assert_mld_err(mld_weight_decode(&t, pkg, w), MLD_EFORMAT, "\"scale\"");
	assert_ok(mld_package_find_weight(&w, pkg, "main", "u"));
	assert_mld_err(mld_weight_decode(&t, pkg, w), MLD_EUNSUPPORTED, "constexpr_future_thing");
	assert_null(t);
	t = decode(pkg, "g");
	tu_assert_values(t, (double[]){1, 2, 3, 4}, 4);
	mld_tensor_free(t);
	mld_package_free(pkg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_immediate_encodings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_immediate_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_immediate_ints_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_lut_indices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worked_example_from_blobs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_output_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_weights_outlive_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_lets_pages_go, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffered_lut_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model_bytes_read_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_far_touch_lets_pages_go, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ios16_attribute_form, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
