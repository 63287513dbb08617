/* The constexpr evaluators (format reference §4), against hand-computed tensors. */
#include "testutil.h"

#define DIMS(...)                                                                                                      \
	(unsigned)(sizeof((uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t)), (const uint64_t[]) { __VA_ARGS__ }
#define VALS(...) (const double[]){__VA_ARGS__}, sizeof((double[]){__VA_ARGS__}) / sizeof(double)
#define F32(...) ((const float[]){__VA_ARGS__})

/* Every tensor a test makes is registered here and freed by the teardown. */
static mld_tensor *owned[256];
static size_t n_owned;

static mld_tensor *keep(mld_tensor *t)
{
	assert_true(n_owned < sizeof owned / sizeof *owned);
	owned[n_owned++] = t;
	return t;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < n_owned; i++)
		mld_tensor_free(owned[i]);
	n_owned = 0;
	return 0;
}

static mld_tensor *T(mld_dtype dt, unsigned rank, const uint64_t *shape, const void *data)
{
	return keep(tu_tensor(dt, rank, shape, data));
}
static mld_tensor *H(unsigned rank, const uint64_t *shape, const float *v) { return keep(tu_fp16(rank, shape, v)); }
static mld_tensor *S(unsigned rank, const uint64_t *shape, const float *v) { return keep(tu_fp32(rank, shape, v)); }

static double at(const mld_tensor *t, uint64_t i) { return mld__dense_get(t->dtype, t->data, i); }

/* ---- iOS18 constexpr_lut_to_dense --------------------------------------------------- */

static void test_lut18_worked_example(void **state)
{
	(void)state;
	/* §4.3: indices uint2 [6,2], lut fp16 [2,1,4,1] */
	mld_tensor *idx = T(MLD_DT_UINT2, DIMS(6, 2), (uint8_t[]){2, 3, 3, 0, 1, 0, 3, 0, 2, 1, 0, 3});
	mld_tensor *lut = H(DIMS(2, 1, 4, 1), F32(1, 5, 9, 13, 2, 10, 18, 26));
	mld_tensor *out = NULL;
	assert_ok(mld__deq_lut_ios18(&out, idx, lut, 0, false));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP16, DIMS(6, 2));
	assert_feq(at(out, 3 * 2 + 0), 26); /* out[3,0] = lut[1,0,3,0] */
	/* rows 0-2 use palette 0, rows 3-5 palette 1 */
	tu_assert_values(out, VALS(9, 13, 13, 1, 5, 1, 26, 2, 18, 10, 2, 26));
	/* a vector_axis given for a scalar palette changes nothing */
	mld_tensor *out2 = NULL;
	assert_ok(mld__deq_lut_ios18(&out2, idx, lut, -1, true));
	keep(out2);
	assert_memory_equal(out2->data, out->data, out->nbytes);
}

static void test_lut18_vector_palette(void **state)
{
	(void)state;
	mld_tensor *idx = T(MLD_DT_UINT1, DIMS(2, 3), (uint8_t[]){0, 1, 1, 1, 0, 0});
	mld_tensor *lut = S(DIMS(1, 1, 2, 2), F32(1, 2, 3, 4)); /* entry 0 = {1,2}, entry 1 = {3,4} */
	mld_tensor *out = NULL;

	/* VS = 2 along axis 0: each index fills two consecutive rows */
	assert_ok(mld__deq_lut_ios18(&out, idx, lut, 0, true));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP32, DIMS(4, 3));
	tu_assert_values(out, VALS(1, 3, 3, 2, 4, 4, 3, 1, 1, 4, 2, 2));
	assert_ok(mld__deq_lut_ios18(&out, idx, lut, -2, true));
	keep(out);
	tu_assert_values(out, VALS(1, 3, 3, 2, 4, 4, 3, 1, 1, 4, 2, 2));

	/* VS = 2 along the last axis (-1 and 1): two consecutive columns */
	assert_ok(mld__deq_lut_ios18(&out, idx, lut, -1, true));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP32, DIMS(2, 6));
	tu_assert_values(out, VALS(1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2));
	assert_ok(mld__deq_lut_ios18(&out, idx, lut, 1, true));
	keep(out);
	tu_assert_values(out, VALS(1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2));

	/* vector palette with a palette per row (groups in index coordinates) */
	mld_tensor *lut_rows = S(DIMS(2, 1, 2, 2), F32(1, 2, 3, 4, 10, 20, 30, 40));
	assert_ok(mld__deq_lut_ios18(&out, idx, lut_rows, 0, true));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP32, DIMS(4, 3));
	tu_assert_values(out, VALS(1, 3, 3, 2, 4, 4, 30, 10, 10, 40, 20, 20));

	/* vector palette with a palette per column, vector axis last */
	mld_tensor *lut_cols = S(DIMS(1, 3, 2, 2), F32(1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24));
	assert_ok(mld__deq_lut_ios18(&out, idx, lut_cols, -1, true));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP32, DIMS(2, 6));
	tu_assert_values(out, VALS(1, 2, 13, 14, 23, 24, 3, 4, 11, 12, 21, 22));
}

static void test_lut18_grouped_inner_axis(void **state)
{
	(void)state;
	/* palettes per group of 2 columns: columns 0-1 palette 0, columns 2-3 palette 1 */
	mld_tensor *idx = T(MLD_DT_UINT2, DIMS(2, 4), (uint8_t[]){0, 1, 2, 3, 3, 2, 1, 0});
	mld_tensor *lut = H(DIMS(1, 2, 4, 1), F32(0.5, 1, 1.5, 2, -1, -2, -3, -4));
	mld_tensor *out = NULL;
	assert_ok(mld__deq_lut_ios18(&out, idx, lut, 0, false));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP16, DIMS(2, 4));
	tu_assert_values(out, VALS(0.5, 1, -3, -4, 2, 1.5, -2, -1));
}

static void test_lut18_int8_3d_middle_axis(void **state)
{
	(void)state;
	/* indices uint4 [2,4,3]; lut int8 [1,2,1,16,1]: groups of 2 along the middle axis */
	uint8_t iv[24];
	for (int i = 0; i < 24; i++)
		iv[i] = (uint8_t)((i * 5 + 3) % 16);
	int8_t lv[32];
	for (int p = 0; p < 16; p++) {
		lv[p] = (int8_t)(p - 8);      /* group 0 */
		lv[16 + p] = (int8_t)(7 - p); /* group 1 */
	}
	mld_tensor *idx = T(MLD_DT_UINT4, DIMS(2, 4, 3), iv);
	mld_tensor *lut = T(MLD_DT_INT8, DIMS(1, 2, 1, 16, 1), lv);
	mld_tensor *out = NULL;
	assert_ok(mld__deq_lut_ios18(&out, idx, lut, 0, false));
	keep(out);
	tu_assert_shape(out, MLD_DT_INT8, DIMS(2, 4, 3));
	/* by hand: out[0,0,0]: index 3, group 0 -> -5; out[1,3,2]: flat 23, index 6, group 1 -> 1 */
	assert_int_equal((int8_t)((uint8_t *)out->data)[0], -5);
	assert_int_equal((int8_t)((uint8_t *)out->data)[23], 1);
	/* and every element by the §4.3 definition */
	for (int a = 0; a < 2; a++)
		for (int b = 0; b < 4; b++)
			for (int c = 0; c < 3; c++) {
				int flat = (a * 4 + b) * 3 + c, g = b / 2;
				int want = lv[g * 16 + iv[flat]];
				assert_int_equal((int8_t)((uint8_t *)out->data)[flat], want);
			}
}

static void test_lut18_errors(void **state)
{
	(void)state;
	mld_tensor *out = NULL;
	mld_tensor *idx4 = T(MLD_DT_UINT4, DIMS(2, 2), (uint8_t[]){1, 2, 3, 4});
	mld_tensor *idx8 = T(MLD_DT_UINT8, DIMS(2, 2), (uint8_t[]){1, 2, 3, 4});
	mld_tensor *idx3 = T(MLD_DT_UINT3, DIMS(2, 2), (uint8_t[]){1, 2, 3, 4});
	mld_tensor *lut256 = T(MLD_DT_FP16, DIMS(1, 1, 256, 1), NULL);
	mld_tensor *lut16 = T(MLD_DT_FP16, DIMS(1, 1, 16, 1), NULL);
	mld_tensor *lut4 = T(MLD_DT_FP16, DIMS(1, 1, 4, 1), NULL);
	/* the palette size must be exactly 2^bits of the index dtype */
	assert_mld_err(mld__deq_lut_ios18(&out, idx4, lut256, 0, false), MLD_EFORMAT, "16");
	assert_mld_err(mld__deq_lut_ios18(&out, idx8, lut16, 0, false), MLD_EFORMAT, "256");
	assert_mld_err(mld__deq_lut_ios18(&out, idx3, lut4, 0, false), MLD_EFORMAT, "uint3");
	assert_ok(mld__deq_lut_ios18(&out, idx4, lut16, 0, false));
	keep(out);

	/* groups must divide the indices: 6 rows into 4 palettes */
	mld_tensor *idx62 = T(MLD_DT_UINT2, DIMS(6, 2), NULL);
	mld_tensor *lut4g = T(MLD_DT_FP16, DIMS(4, 1, 4, 1), NULL);
	mld_tensor *lut0g = T(MLD_DT_FP16, DIMS(0, 1, 4, 1), NULL);
	out = NULL;
	assert_mld_err(mld__deq_lut_ios18(&out, idx62, lut4g, 0, false), MLD_EFORMAT, "multiple");
	assert_mld_err(mld__deq_lut_ios18(&out, idx62, lut0g, 0, false), MLD_EFORMAT, NULL);

	/* a vector palette needs vector_axis, in range */
	mld_tensor *lutv = T(MLD_DT_FP16, DIMS(1, 1, 4, 2), NULL);
	assert_mld_err(mld__deq_lut_ios18(&out, idx62, lutv, 0, false), MLD_EFORMAT, "vector_axis");
	assert_mld_err(mld__deq_lut_ios18(&out, idx62, lutv, 2, true), MLD_EFORMAT, "vector_axis");
	assert_mld_err(mld__deq_lut_ios18(&out, idx62, lutv, -3, true), MLD_EFORMAT, "vector_axis");
	/* vector size 0 */
	mld_tensor *lutv0 = T(MLD_DT_FP16, DIMS(1, 1, 4, 0), NULL);
	assert_mld_err(mld__deq_lut_ios18(&out, idx62, lutv0, 0, true), MLD_EFORMAT, NULL);

	/* lut rank must be K + 2; dtypes restricted */
	mld_tensor *lut_r3 = T(MLD_DT_FP16, DIMS(1, 4, 1), NULL);
	assert_mld_err(mld__deq_lut_ios18(&out, idx62, lut_r3, 0, false), MLD_EFORMAT, "rank");
	mld_tensor *idx_i8 = T(MLD_DT_INT8, DIMS(6, 2), NULL);
	assert_mld_err(mld__deq_lut_ios18(&out, idx_i8, lut4, 0, false), MLD_EFORMAT, "indices");
	mld_tensor *lut_bf = T(MLD_DT_BF16, DIMS(1, 1, 4, 1), NULL);
	assert_mld_err(mld__deq_lut_ios18(&out, idx62, lut_bf, 0, false), MLD_EFORMAT, "lut");
	assert_null(out);
}

/* ---- iOS16 constexpr_lut_to_dense ----------------------------------------------------- */

static void test_lut16_six_bit_straddling(void **state)
{
	(void)state;
	float lv[64];
	for (int p = 0; p < 64; p++)
		lv[p] = (float)p + 0.25f;
	mld_tensor *lut = S(DIMS(64), lv);
	/* the §3.5 uint6 row: 1, 63, 0, 42 packed as C1 0F A8 */
	mld_tensor *idx = T(MLD_DT_UINT8, DIMS(3), (uint8_t[]){0xC1, 0x0F, 0xA8});
	mld_tensor *shape = T(MLD_DT_UINT32, DIMS(2), (uint32_t[]){2, 2});
	mld_tensor *out = NULL;
	assert_ok(mld__deq_lut_ios16(&out, idx, lut, shape));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP32, DIMS(2, 2));
	tu_assert_values(out, VALS(1.25, 63.25, 0.25, 42.25));

	/* 5, 60, 33, 18, 47 -> 30 bits in 4 bytes: 05 1F 4A 2F (by hand, LSB first) */
	float hv[64];
	for (int p = 0; p < 64; p++)
		hv[p] = (float)p * 0.5f;
	mld_tensor *lut_h = H(DIMS(64), hv);
	mld_tensor *idx5 = T(MLD_DT_UINT8, DIMS(4), (uint8_t[]){0x05, 0x1F, 0x4A, 0x2F});
	mld_tensor *shape5 = T(MLD_DT_UINT32, DIMS(1), (uint32_t[]){5});
	assert_ok(mld__deq_lut_ios16(&out, idx5, lut_h, shape5));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP16, DIMS(5));
	tu_assert_values(out, VALS(2.5, 30, 16.5, 9, 23.5));

	/* 1-bit: the §3.5 uint1 row with an int8 palette {-3, 7} */
	mld_tensor *lut2 = T(MLD_DT_INT8, DIMS(2), (int8_t[]){-3, 7});
	mld_tensor *idx1 = T(MLD_DT_UINT8, DIMS(2), (uint8_t[]){0x8D, 0x01});
	mld_tensor *shape9 = T(MLD_DT_UINT32, DIMS(3), (uint32_t[]){1, 9, 1});
	assert_ok(mld__deq_lut_ios16(&out, idx1, lut2, shape9));
	keep(out);
	tu_assert_shape(out, MLD_DT_INT8, DIMS(1, 9, 1));
	tu_assert_values(out, VALS(7, -3, 7, 7, -3, -3, -3, 7, 7));

	/* errors: wrong packed length, palette size, index dtype, shape dtype */
	mld_tensor *idx3b = T(MLD_DT_UINT8, DIMS(3), (uint8_t[]){0x05, 0x1F, 0x4A});
	out = NULL;
	assert_mld_err(mld__deq_lut_ios16(&out, idx3b, lut_h, shape5), MLD_EFORMAT, "need 4");
	/* M must be exactly ceil(nbits * N / 8): one byte too many is malformed too */
	mld_tensor *idx5b = T(MLD_DT_UINT8, DIMS(5), (uint8_t[]){0x05, 0x1F, 0x4A, 0x2F, 0x00});
	assert_mld_err(mld__deq_lut_ios16(&out, idx5b, lut_h, shape5), MLD_EFORMAT, "need 4");
	mld_tensor *lut32 = T(MLD_DT_FP16, DIMS(32), NULL);
	assert_mld_err(mld__deq_lut_ios16(&out, idx5, lut32, shape5), MLD_EFORMAT, "64");
	mld_tensor *lut8 = T(MLD_DT_FP16, DIMS(8), NULL); /* 3-bit has no iOS16 form */
	assert_mld_err(mld__deq_lut_ios16(&out, idx5, lut8, shape5), MLD_EFORMAT, NULL);
	mld_tensor *idx_u4 = T(MLD_DT_UINT4, DIMS(4), NULL);
	assert_mld_err(mld__deq_lut_ios16(&out, idx_u4, lut_h, shape5), MLD_EFORMAT, "indices");
	mld_tensor *shape_f = T(MLD_DT_FP32, DIMS(1), F32(5));
	assert_mld_err(mld__deq_lut_ios16(&out, idx5, lut_h, shape_f), MLD_EFORMAT, "shape");
	assert_null(out);
}

/* ---- constexpr_blockwise_shift_scale --------------------------------------------------- */

static void test_shift_scale_int4(void **state)
{
	(void)state;
	mld_tensor *data = T(MLD_DT_INT4, DIMS(2, 4), (int8_t[]){-8, -1, 0, 7, 3, -3, 5, -5});
	mld_tensor *scale = H(DIMS(2, 1), F32(0.5, 0.25)); /* per-row (per-channel, axis 0) */
	mld_tensor *out = NULL;
	assert_ok(mld__deq_shift_scale(&out, data, scale, NULL));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP16, DIMS(2, 4));
	tu_assert_values(out, VALS(-4, -0.5, 0, 3.5, 0.75, -0.75, 1.25, -1.25));

	/* int4 offset (same dtype as data) */
	mld_tensor *off = T(MLD_DT_INT4, DIMS(2, 1), (int8_t[]){-8, 7});
	assert_ok(mld__deq_shift_scale(&out, data, scale, off));
	keep(out);
	tu_assert_values(out, VALS(0, 3.5, 4, 7.5, -1, -2.5, -0.5, -3));
}

static void test_shift_scale_uint8_offset(void **state)
{
	(void)state;
	mld_tensor *data = T(MLD_DT_UINT8, DIMS(2, 4), (uint8_t[]){0, 10, 200, 255, 128, 129, 127, 1});
	mld_tensor *off = T(MLD_DT_UINT8, DIMS(1, 2), (uint8_t[]){100, 128}); /* blocks of 2 columns */
	mld_tensor *scale = S(DIMS(1, 2), F32(0.1f, 2));
	mld_tensor *out = NULL;
	assert_ok(mld__deq_shift_scale(&out, data, scale, off));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP32, DIMS(2, 4));
	/* fp32 arithmetic: (data - offset) * scale, each step in float */
	volatile float s = 0.1f;
	float e[8] = {(float)-100 * s, (float)-90 * s, 144, 254, (float)28 * s, (float)29 * s, -2, -254};
	tu_assert_values(out, VALS(e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]));

	/* per-block on both axes: data [4,4], scale [2,2] (2x2 blocks) */
	uint8_t dv[16];
	for (int i = 0; i < 16; i++)
		dv[i] = (uint8_t)i;
	mld_tensor *d44 = T(MLD_DT_UINT8, DIMS(4, 4), dv);
	mld_tensor *s22 = S(DIMS(2, 2), F32(1, 10, 100, 1000));
	mld_tensor *o22 = T(MLD_DT_UINT8, DIMS(2, 2), (uint8_t[]){0, 1, 2, 3});
	assert_ok(mld__deq_shift_scale(&out, d44, s22, o22));
	keep(out);
	tu_assert_values(out, VALS(0, 1, 10, 20,         /* row 0: block (0,0), (0,1) */
	                           4, 5, 50, 60,         /* row 1 */
	                           600, 700, 7000, 8000, /* row 2: block (1,0), (1,1) */
	                           1000, 1100, 11000, 12000));
}

static void test_shift_scale_fp16_rounding(void **state)
{
	(void)state;
	/* numpy semantics in fp16: (data.astype(fp16) - offset) then * scale, each rounded.
	 * element 0: 1001 - 0.25 = 1000.75 -> 1001 (tie to even); 1001 * (1 + 2^-10) =
	 * 1001.977 -> 1002. Without the intermediate rounding it would be 1001.5. */
	mld_tensor *data = H(DIMS(1, 4), F32(1001, 1001, 8, 3));
	mld_tensor *off = H(DIMS(1, 2), F32(0.25, 0.5));
	mld_tensor *scale = H(DIMS(1, 2), F32(1.0009765625, 0.333251953125));
	mld_tensor *out = NULL;
	assert_ok(mld__deq_shift_scale(&out, data, scale, off));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP16, DIMS(1, 4));
	/* 7.5 * 0.333251953125 = 2.49938965 -> 2.5; 2.5 * 0.333251953125 = 0.83312988 -> 0.8330078125 */
	tu_assert_values(out, VALS(1002, 1002, 2.5, 0.8330078125));
	assert_int_equal(mld__rd16(out->data), 0x63D4); /* 1002 */

	/* data.astype(fp16) first: fp32 data 1000.75 becomes 1001 before the multiply */
	mld_tensor *d32 = S(DIMS(1), F32(1000.75f));
	mld_tensor *s16 = H(DIMS(1), F32(1.0009765625));
	assert_ok(mld__deq_shift_scale(&out, d32, s16, NULL));
	keep(out);
	tu_assert_values(out, VALS(1002));

	/* uint8 data with an fp16 scale: only the product rounds. 255 * 0.0999755859375 =
	 * 25.4937744 -> 25.5 in fp16 */
	mld_tensor *du8 = T(MLD_DT_UINT8, DIMS(1), (uint8_t[]){255});
	mld_tensor *s01 = H(DIMS(1), F32(0.0999755859375));
	assert_ok(mld__deq_shift_scale(&out, du8, s01, NULL));
	keep(out);
	tu_assert_values(out, VALS(25.5));
}

static void test_shift_scale_errors(void **state)
{
	(void)state;
	mld_tensor *out = NULL;
	mld_tensor *data = T(MLD_DT_UINT8, DIMS(2, 4), NULL);
	mld_tensor *s13 = S(DIMS(1, 3), F32(1, 1, 1));
	assert_mld_err(mld__deq_shift_scale(&out, data, s13, NULL), MLD_EFORMAT, "divisible");
	mld_tensor *s4 = S(DIMS(4), F32(1, 1, 1, 1));
	assert_mld_err(mld__deq_shift_scale(&out, data, s4, NULL), MLD_EFORMAT, "rank");
	mld_tensor *s12 = S(DIMS(1, 2), F32(1, 1));
	mld_tensor *o_i8 = T(MLD_DT_INT8, DIMS(1, 2), NULL);
	assert_mld_err(mld__deq_shift_scale(&out, data, s12, o_i8), MLD_EFORMAT, "dtype of data");
	mld_tensor *o_u8_wrong = T(MLD_DT_UINT8, DIMS(2, 1), NULL);
	assert_mld_err(mld__deq_shift_scale(&out, data, s12, o_u8_wrong), MLD_EFORMAT, "offset");
	mld_tensor *s_i8 = T(MLD_DT_INT8, DIMS(1, 2), NULL);
	assert_mld_err(mld__deq_shift_scale(&out, data, s_i8, NULL), MLD_EFORMAT, "scale");
	mld_tensor *d_i16 = T(MLD_DT_INT16, DIMS(2, 4), NULL);
	assert_mld_err(mld__deq_shift_scale(&out, d_i16, s12, NULL), MLD_EFORMAT, "int16");
	assert_null(out);
	/* a float offset is allowed with integer data */
	mld_tensor *o_f = S(DIMS(1, 2), F32(0.5, 1));
	assert_ok(mld__deq_shift_scale(&out, data, s12, o_f));
	keep(out);
	tu_assert_values(out, VALS(-0.5, -0.5, -1, -1, -0.5, -0.5, -1, -1));
}

/* ---- iOS16 constexpr_affine_dequantize ------------------------------------------------------ */

static void test_affine(void **state)
{
	(void)state;
	mld_tensor *out = NULL;
	/* scalar zero point and scale */
	mld_tensor *q = T(MLD_DT_UINT8, DIMS(4), (uint8_t[]){0, 128, 255, 10});
	mld_tensor *zp = T(MLD_DT_UINT8, 0, NULL, (uint8_t[]){128});
	mld_tensor *sc = S(0, NULL, F32(0.5));
	assert_ok(mld__deq_affine(&out, q, zp, sc, 0));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP32, DIMS(4));
	tu_assert_values(out, VALS(-64, 0, 63.5, -59));

	/* per-axis 0, int8, fp16 scale */
	mld_tensor *q8 = T(MLD_DT_INT8, DIMS(2, 3), (int8_t[]){-128, 0, 127, 1, 2, 3});
	mld_tensor *zp2 = T(MLD_DT_INT8, DIMS(2), (int8_t[]){0, 1});
	mld_tensor *sc2 = H(DIMS(2), F32(0.5, 2));
	assert_ok(mld__deq_affine(&out, q8, zp2, sc2, 0));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP16, DIMS(2, 3));
	tu_assert_values(out, VALS(-64, 0, 63.5, 0, 2, 4));

	/* per-axis 1 (and -1), fp32 zero point */
	mld_tensor *zp3 = S(DIMS(3), F32(1, 0, -1));
	mld_tensor *sc3 = S(DIMS(3), F32(1, 2, 3));
	assert_ok(mld__deq_affine(&out, q8, zp3, sc3, 1));
	keep(out);
	tu_assert_values(out, VALS(-129, 0, 384, 0, 4, 12));
	assert_ok(mld__deq_affine(&out, q8, zp3, sc3, -1));
	keep(out);
	tu_assert_values(out, VALS(-129, 0, 384, 0, 4, 12));

	/* mixed: scalar zero point, per-axis scale */
	assert_ok(mld__deq_affine(&out, q8, T(MLD_DT_INT8, 0, NULL, (int8_t[]){-1}), sc2, 0));
	keep(out);
	tu_assert_values(out, VALS(-63.5, 0.5, 64, 4, 6, 8));

	/* fp16 output rounds once: 255 * 0.0999755859375 = 25.4937744 -> 25.5 */
	mld_tensor *q255 = T(MLD_DT_UINT8, DIMS(1), (uint8_t[]){255});
	mld_tensor *zp0 = T(MLD_DT_UINT8, 0, NULL, (uint8_t[]){0});
	mld_tensor *sc01 = H(0, NULL, F32(0.0999755859375));
	assert_ok(mld__deq_affine(&out, q255, zp0, sc01, 0));
	keep(out);
	tu_assert_values(out, VALS(25.5));

	/* errors */
	out = NULL;
	assert_mld_err(mld__deq_affine(&out, q8, zp3, sc2, 0), MLD_EFORMAT, "zero_point");
	assert_mld_err(mld__deq_affine(&out, q8, zp2, sc3, 0), MLD_EFORMAT, "scale");
	assert_mld_err(mld__deq_affine(&out, q8, zp2, sc2, 2), MLD_EFORMAT, "axis");
	assert_mld_err(mld__deq_affine(&out, q8, zp2, sc2, -3), MLD_EFORMAT, "axis");
	mld_tensor *qf = T(MLD_DT_FP16, DIMS(2), NULL);
	assert_mld_err(mld__deq_affine(&out, qf, zp2, sc2, 0), MLD_EFORMAT, "quantized_data");
	mld_tensor *zp_i16 = T(MLD_DT_INT16, DIMS(2), NULL);
	assert_mld_err(mld__deq_affine(&out, q8, zp_i16, sc2, 0), MLD_EFORMAT, "zero_point");
	assert_null(out);
}

/* ---- constexpr_sparse_to_dense ----------------------------------------------------------- */

static void test_sparse_ios18(void **state)
{
	(void)state;
	mld_tensor *mask = T(MLD_DT_UINT1, DIMS(2, 3), (uint8_t[]){1, 0, 1, 0, 0, 1});
	mld_tensor *nz = H(DIMS(3), F32(1, 2, 3));
	mld_tensor *out = NULL;
	assert_ok(mld__deq_sparse_ios18(&out, nz, mask));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP16, DIMS(2, 3)); /* the mask carries the shape */
	tu_assert_values(out, VALS(1, 0, 2, 0, 0, 3));

	mld_tensor *nz8 = T(MLD_DT_INT8, DIMS(3), (int8_t[]){-5, 6, -7});
	assert_ok(mld__deq_sparse_ios18(&out, nz8, mask));
	keep(out);
	tu_assert_shape(out, MLD_DT_INT8, DIMS(2, 3));
	tu_assert_values(out, VALS(-5, 0, 6, 0, 0, -7));

	/* count mismatch, wrong mask dtype */
	out = NULL;
	mld_tensor *nz2 = H(DIMS(2), F32(1, 2));
	assert_mld_err(mld__deq_sparse_ios18(&out, nz2, mask), MLD_EFORMAT, "3 set bits");
	mld_tensor *nz4 = H(DIMS(4), F32(1, 2, 3, 4));
	assert_mld_err(mld__deq_sparse_ios18(&out, nz4, mask), MLD_EFORMAT, "4 values");
	mld_tensor *mask8 = T(MLD_DT_UINT8, DIMS(2, 3), (uint8_t[]){1, 0, 1, 0, 0, 1});
	assert_mld_err(mld__deq_sparse_ios18(&out, nz, mask8), MLD_EFORMAT, "uint1");
	assert_null(out);
}

static void test_sparse_ios16(void **state)
{
	(void)state;
	/* bits 0, 2, 5 of 0x25 (LSB first) */
	mld_tensor *mask = T(MLD_DT_UINT8, DIMS(1), (uint8_t[]){0x25});
	mld_tensor *shape = T(MLD_DT_UINT32, DIMS(2), (uint32_t[]){2, 3});
	mld_tensor *nz = S(DIMS(3), F32(1.5, -2, 4));
	mld_tensor *out = NULL;
	assert_ok(mld__deq_sparse_ios16(&out, nz, mask, shape));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP32, DIMS(2, 3));
	tu_assert_values(out, VALS(1.5, 0, -2, 0, 0, 4));

	/* 9 elements over two bytes: bit 8 is the low bit of byte 1 */
	mld_tensor *mask9 = T(MLD_DT_UINT8, DIMS(2), (uint8_t[]){0x80, 0x01});
	mld_tensor *shape9 = T(MLD_DT_UINT32, DIMS(1), (uint32_t[]){9});
	mld_tensor *nz2 = T(MLD_DT_UINT8, DIMS(2), (uint8_t[]){200, 201});
	assert_ok(mld__deq_sparse_ios16(&out, nz2, mask9, shape9));
	keep(out);
	tu_assert_values(out, VALS(0, 0, 0, 0, 0, 0, 0, 200, 201));

	/* exactly 8 elements: every mask bit is in range */
	mld_tensor *mff = T(MLD_DT_UINT8, DIMS(1), (uint8_t[]){0xFF});
	mld_tensor *shape8 = T(MLD_DT_UINT32, DIMS(1), (uint32_t[]){8});
	mld_tensor *nz8 = T(MLD_DT_INT8, DIMS(8), (int8_t[]){1, 2, 3, 4, 5, 6, 7, 8});
	assert_ok(mld__deq_sparse_ios16(&out, nz8, mff, shape8));
	keep(out);
	tu_assert_values(out, VALS(1, 2, 3, 4, 5, 6, 7, 8));

	/* set bits beyond N are rejected (bit 6, bit 7; bit 9 of the 9-element form) */
	out = NULL;
	mld_tensor *m65 = T(MLD_DT_UINT8, DIMS(1), (uint8_t[]){0x65});
	mld_tensor *nz4 = S(DIMS(4), F32(1, 2, 3, 4));
	assert_mld_err(mld__deq_sparse_ios16(&out, nz4, m65, shape), MLD_EFORMAT, "beyond");
	mld_tensor *mA5 = T(MLD_DT_UINT8, DIMS(1), (uint8_t[]){0xA5});
	assert_mld_err(mld__deq_sparse_ios16(&out, nz4, mA5, shape), MLD_EFORMAT, "beyond");
	mld_tensor *m9bad = T(MLD_DT_UINT8, DIMS(2), (uint8_t[]){0x80, 0x03});
	mld_tensor *nz3 = T(MLD_DT_UINT8, DIMS(3), (uint8_t[]){1, 2, 3});
	assert_mld_err(mld__deq_sparse_ios16(&out, nz3, m9bad, shape9), MLD_EFORMAT, "beyond");
	/* mask length must be ceil(N/8) */
	mld_tensor *m2 = T(MLD_DT_UINT8, DIMS(2), (uint8_t[]){0x25, 0});
	assert_mld_err(mld__deq_sparse_ios16(&out, nz, m2, shape), MLD_EFORMAT, "1 bytes");
	/* count mismatch */
	mld_tensor *nz2f = S(DIMS(2), F32(1, 2));
	assert_mld_err(mld__deq_sparse_ios16(&out, nz2f, mask, shape), MLD_EFORMAT, "set bits");
	assert_null(out);
}

/* ---- constexpr_cast ---------------------------------------------------------------------------- */

static void test_cast(void **state)
{
	(void)state;
	mld_tensor *src = T(MLD_DT_FP16, DIMS(2, 3), (uint16_t[]){0x3C00, 0xC000, 0x7C00, 0x0001, 0x8000, 0x7E00});
	mld_tensor *out = NULL;
	assert_ok(mld__deq_cast(&out, src, "fp32"));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP32, DIMS(2, 3));
	const float *f = out->data;
	assert_feq(f[0], 1.0);
	assert_feq(f[1], -2.0);
	assert_true(isinf(f[2]) && f[2] > 0);
	assert_feq(f[3], 0x1p-24);
	assert_feq(f[4], -0.0);
	assert_true(isnan(f[5]));
	/* only fp16 -> fp32 is a constexpr_cast of the format */
	out = NULL;
	mld_tensor *i8 = T(MLD_DT_INT8, DIMS(2), NULL);
	assert_mld_err(mld__deq_cast(&out, i8, "fp32"), MLD_EUNSUPPORTED, "int8");
	assert_mld_err(mld__deq_cast(&out, src, "int8"), MLD_EUNSUPPORTED, "int8");
	assert_mld_err(mld__deq_cast(&out, src, "float32"), MLD_EUNSUPPORTED, "float32");
	assert_null(out);
}

/* ---- two-output ops ----------------------------------------------------------------------------- */

static void test_lut_to_sparse(void **state)
{
	(void)state;
	/* mask [[1,0,1],[0,1,0]] with indices 3, 0, 2 at the set positions */
	mld_tensor *mask = T(MLD_DT_UINT1, DIMS(2, 3), (uint8_t[]){1, 0, 1, 0, 1, 0});
	mld_tensor *nzi = T(MLD_DT_UINT2, DIMS(3), (uint8_t[]){3, 0, 2});
	mld_tensor *o[2] = {NULL, NULL};

	/* scalar palette: mask unchanged, values at the set positions */
	mld_tensor *lut = S(DIMS(1, 1, 4, 1), F32(10, 20, 30, 40));
	assert_ok(mld__deq_lut_to_sparse(o, mask, nzi, lut, 0, false));
	keep(o[0]);
	keep(o[1]);
	tu_assert_shape(o[0], MLD_DT_UINT1, DIMS(2, 3));
	tu_assert_values(o[0], VALS(1, 0, 1, 0, 1, 0));
	tu_assert_shape(o[1], MLD_DT_FP32, DIMS(3));
	tu_assert_values(o[1], VALS(40, 10, 30));

	/* vector palette VS = 2 on the last axis: the mask doubles along it */
	mld_tensor *lutv = S(DIMS(1, 1, 4, 2), F32(1, 2, 3, 4, 5, 6, 7, 8));
	assert_ok(mld__deq_lut_to_sparse(o, mask, nzi, lutv, -1, true));
	keep(o[0]);
	keep(o[1]);
	tu_assert_shape(o[0], MLD_DT_UINT1, DIMS(2, 6));
	tu_assert_values(o[0], VALS(1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0));
	tu_assert_shape(o[1], MLD_DT_FP32, DIMS(6));
	tu_assert_values(o[1], VALS(7, 8, 1, 2, 5, 6));

	/* VS = 2 on axis 0: rows double, values in row-major order of the expanded shape */
	assert_ok(mld__deq_lut_to_sparse(o, mask, nzi, lutv, 0, true));
	keep(o[0]);
	keep(o[1]);
	tu_assert_shape(o[0], MLD_DT_UINT1, DIMS(4, 3));
	tu_assert_values(o[0], VALS(1, 0, 1, 1, 0, 1, 0, 1, 0, 0, 1, 0));
	tu_assert_values(o[1], VALS(7, 1, 8, 2, 5, 6));

	/* chained into sparse_to_dense (the lut_to_sparse -> sparse_to_dense pattern) */
	mld_tensor *dense = NULL;
	assert_ok(mld__deq_sparse_ios18(&dense, o[1], o[0]));
	keep(dense);
	tu_assert_shape(dense, MLD_DT_FP32, DIMS(4, 3));
	tu_assert_values(dense, VALS(7, 0, 1, 8, 0, 2, 0, 5, 0, 0, 6, 0));

	/* errors: index count vs mask, mask dtype */
	mld_tensor *o2[2] = {NULL, NULL};
	mld_tensor *nzi2 = T(MLD_DT_UINT2, DIMS(2), (uint8_t[]){3, 0});
	assert_mld_err(mld__deq_lut_to_sparse(o2, mask, nzi2, lut, 0, false), MLD_EFORMAT, "set bits");
	mld_tensor *mask8 = T(MLD_DT_UINT8, DIMS(2, 3), (uint8_t[]){1, 0, 1, 0, 1, 0});
	assert_mld_err(mld__deq_lut_to_sparse(o2, mask8, nzi, lut, 0, false), MLD_EFORMAT, "uint1");
	assert_mld_err(mld__deq_lut_to_sparse(o2, mask, nzi, lutv, 0, false), MLD_EFORMAT, "vector_axis");
	assert_null(o2[0]);
	assert_null(o2[1]);
}

static void test_sparse_shift_scale(void **state)
{
	(void)state;
	mld_tensor *mask = T(MLD_DT_UINT1, DIMS(2, 4), (uint8_t[]){1, 0, 0, 1, 0, 1, 1, 0});
	mld_tensor *nz = T(MLD_DT_INT8, DIMS(4), (int8_t[]){-2, 4, 6, -8});
	mld_tensor *scale = S(DIMS(2, 1), F32(0.5, 0.25));
	mld_tensor *off = T(MLD_DT_INT8, DIMS(2, 1), (int8_t[]){0, 2});
	mld_tensor *o[2] = {NULL, NULL};
	assert_ok(mld__deq_sparse_shift_scale(o, mask, nz, scale, off));
	keep(o[0]);
	keep(o[1]);
	tu_assert_shape(o[0], MLD_DT_UINT1, DIMS(2, 4));
	tu_assert_values(o[0], VALS(1, 0, 0, 1, 0, 1, 1, 0));
	tu_assert_shape(o[1], MLD_DT_FP32, DIMS(4));
	/* (-2-0)*0.5, (4-0)*0.5, (6-2)*0.25, (-8-2)*0.25: blocks follow the positions in the mask */
	tu_assert_values(o[1], VALS(-1, 2, 1, -2.5));

	mld_tensor *dense = NULL;
	assert_ok(mld__deq_sparse_ios18(&dense, o[1], o[0]));
	keep(dense);
	tu_assert_values(dense, VALS(-1, 0, 0, 2, 0, 1, -2.5, 0));

	/* without offset, fp16 scale */
	mld_tensor *sc16 = H(DIMS(1, 1), F32(1.5));
	assert_ok(mld__deq_sparse_shift_scale(o, mask, nz, sc16, NULL));
	keep(o[0]);
	keep(o[1]);
	tu_assert_shape(o[1], MLD_DT_FP16, DIMS(4));
	tu_assert_values(o[1], VALS(-3, 6, 9, -12));

	mld_tensor *o2[2] = {NULL, NULL};
	mld_tensor *nz3 = T(MLD_DT_INT8, DIMS(3), (int8_t[]){1, 2, 3});
	assert_mld_err(mld__deq_sparse_shift_scale(o2, mask, nz3, scale, off), MLD_EFORMAT, "set bits");
	assert_null(o2[0]);
}

/* ---- chains ---------------------------------------------------------------------------------------- */

static void test_chain_lut_int8_then_shift_scale(void **state)
{
	(void)state;
	mld_tensor *idx = T(MLD_DT_UINT2, DIMS(2, 2), (uint8_t[]){0, 3, 1, 2});
	mld_tensor *lut = T(MLD_DT_INT8, DIMS(1, 1, 4, 1), (int8_t[]){-4, -1, 2, 5});
	mld_tensor *q = NULL, *out = NULL;
	assert_ok(mld__deq_lut_ios18(&q, idx, lut, 0, false));
	keep(q);
	tu_assert_shape(q, MLD_DT_INT8, DIMS(2, 2));
	tu_assert_values(q, VALS(-4, 5, -1, 2));
	mld_tensor *scale = H(DIMS(2, 1), F32(0.5, 1.5));
	mld_tensor *off = T(MLD_DT_INT8, DIMS(2, 1), (int8_t[]){1, -1});
	assert_ok(mld__deq_shift_scale(&out, q, scale, off));
	keep(out);
	tu_assert_shape(out, MLD_DT_FP16, DIMS(2, 2));
	tu_assert_values(out, VALS(-2.5, 2, 0, 4.5));

	/* uint8 palette with a uint8 offset */
	mld_tensor *lutu = T(MLD_DT_UINT8, DIMS(1, 1, 4, 1), (uint8_t[]){0, 100, 200, 255});
	assert_ok(mld__deq_lut_ios18(&q, idx, lutu, 0, false));
	keep(q);
	mld_tensor *offu = T(MLD_DT_UINT8, DIMS(1, 1), (uint8_t[]){128});
	mld_tensor *sc = S(DIMS(1, 1), F32(0.5));
	assert_ok(mld__deq_shift_scale(&out, q, sc, offu));
	keep(out);
	tu_assert_values(out, VALS(-64, 63.5, -14, 36));
}

/* ---- properties: the optimized evaluators against naive §4.3 definitions ----------------- */

static uint64_t prng = 0x853C49E6748FEA9Bull;
static uint32_t rnd(void)
{
	prng ^= prng << 13;
	prng ^= prng >> 7;
	prng ^= prng << 17;
	return (uint32_t)(prng >> 20);
}

/* Row-major flat index of coordinates c in shape s. */
static uint64_t flat_of(const uint64_t *c, const uint64_t *s, unsigned rank)
{
	uint64_t f = 0;
	for (unsigned d = 0; d < rank; d++)
		f = f * s[d] + c[d];
	return f;
}

static void coords_of(uint64_t f, const uint64_t *s, unsigned rank, uint64_t *c)
{
	for (unsigned d = rank; d-- > 0;) {
		c[d] = f % s[d];
		f /= s[d];
	}
}

/* §4.3 lut_to_dense, element by element. */
static mld_tensor *ref_lut(const mld_tensor *idx, const mld_tensor *lut, int64_t vaxis)
{
	unsigned K = idx->rank, w = mld_dtype_dense_width(lut->dtype);
	uint64_t P = lut->shape[K], VS = lut->shape[K + 1], oshape[MLD_MAX_RANK];
	unsigned a = (unsigned)(vaxis < 0 ? vaxis + K : vaxis);
	memcpy(oshape, idx->shape, K * sizeof *oshape);
	if (VS > 1)
		oshape[a] *= VS;
	mld_tensor *out = tu_tensor(lut->dtype, K, oshape, NULL);
	for (uint64_t o = 0; o < out->count; o++) {
		uint64_t oc[MLD_MAX_RANK] = {0}, ic[MLD_MAX_RANK], g[MLD_MAX_RANK], k = 0;
		coords_of(o, oshape, K, oc);
		memcpy(ic, oc, sizeof ic);
		if (VS > 1) {
			ic[a] = oc[a] / VS;
			k = oc[a] % VS;
		}
		for (unsigned d = 0; d < K; d++)
			g[d] = ic[d] / (idx->shape[d] / lut->shape[d]);
		uint64_t p = ((const uint8_t *)idx->data)[flat_of(ic, idx->shape, K)];
		uint64_t lf = (flat_of(g, lut->shape, K) * P + p) * VS + k;
		memcpy((uint8_t *)out->data + o * w, (const uint8_t *)lut->data + lf * w, w);
	}
	return out;
}

static const mld_dtype lut_dtypes[] = {MLD_DT_FP16, MLD_DT_FP32, MLD_DT_INT8, MLD_DT_UINT8};
static const struct {
	mld_dtype dt;
	unsigned bits;
} index_dtypes[] = {{MLD_DT_UINT1, 1}, {MLD_DT_UINT2, 2}, {MLD_DT_UINT3, 3},
                    {MLD_DT_UINT4, 4}, {MLD_DT_UINT6, 6}, {MLD_DT_UINT8, 8}};

/* A random lut_to_dense problem: indices, lut, vector axis. */
static void random_lut_problem(mld_tensor **idx_out, mld_tensor **lut_out, int64_t *vaxis)
{
	unsigned K = 1 + rnd() % 3, ib = rnd() % 6;
	uint64_t ishape[MLD_MAX_RANK], lshape[MLD_MAX_RANK];
	for (unsigned d = 0; d < K; d++) {
		lshape[d] = 1 + rnd() % 3;
		ishape[d] = lshape[d] * (1 + rnd() % 3);
	}
	lshape[K] = 1ull << index_dtypes[ib].bits;
	lshape[K + 1] = 1 + rnd() % 3;
	*vaxis = (int64_t)(rnd() % (2 * K)) - (int64_t)K;
	mld_tensor *idx = tu_tensor(index_dtypes[ib].dt, K, ishape, NULL);
	for (uint64_t i = 0; i < idx->count; i++)
		((uint8_t *)idx->data)[i] = (uint8_t)(rnd() % lshape[K]);
	mld_tensor *lut = tu_tensor(lut_dtypes[rnd() % 4], K + 2, lshape, NULL);
	for (size_t i = 0; i < lut->nbytes; i++)
		((uint8_t *)lut->data)[i] = (uint8_t)rnd();
	*idx_out = keep(idx);
	*lut_out = keep(lut);
}

static void test_lut18_matches_definition(void **state)
{
	(void)state;
	for (int iter = 0; iter < 400; iter++) {
		mld_tensor *idx, *lut, *out = NULL;
		int64_t vaxis;
		random_lut_problem(&idx, &lut, &vaxis);
		assert_ok(mld__deq_lut_ios18(&out, idx, lut, vaxis, true));
		keep(out);
		mld_tensor *want = keep(ref_lut(idx, lut, vaxis));
		tu_assert_shape(out, want->dtype, want->rank, want->shape);
		if (memcmp(out->data, want->data, want->nbytes))
			fail_msg("iteration %d: indices %s rank %u, lut %s, VS %llu, vector_axis %lld: values differ",
			         iter, mld_dtype_name(idx->dtype), idx->rank, mld_dtype_name(lut->dtype),
			         (unsigned long long)lut->shape[idx->rank + 1], (long long)vaxis);
		teardown(NULL);
	}
}

static void test_lut_to_sparse_matches_definition(void **state)
{
	(void)state;
	for (int iter = 0; iter < 300; iter++) {
		mld_tensor *idx, *lut;
		int64_t vaxis;
		random_lut_problem(&idx, &lut, &vaxis);
		unsigned K = idx->rank;
		/* a random mask over the index shape, and one index per set bit */
		mld_tensor *mask = keep(tu_tensor(MLD_DT_UINT1, K, idx->shape, NULL));
		uint64_t ones = 0;
		for (uint64_t i = 0; i < mask->count; i++)
			ones += ((uint8_t *)mask->data)[i] = (uint8_t)(rnd() % 3 == 0);
		mld_tensor *nzi = keep(tu_tensor(idx->dtype, 1, &ones, NULL));
		for (uint64_t i = 0, k = 0; i < mask->count; i++) {
			uint8_t *d = idx->data;
			if (((uint8_t *)mask->data)[i])
				((uint8_t *)nzi->data)[k++] = d[i];
			else
				d[i] = 0; /* the dense index tensor the op builds */
		}
		mld_tensor *o[2] = {NULL, NULL};
		assert_ok(mld__deq_lut_to_sparse(o, mask, nzi, lut, vaxis, true));
		keep(o[0]);
		keep(o[1]);
		/* reference: dense lut_to_dense, the mask repeated VS times along the axis,
		 * and the values at its set positions */
		mld_tensor *V = keep(ref_lut(idx, lut, vaxis));
		uint64_t VS = lut->shape[K + 1];
		unsigned a = (unsigned)(vaxis < 0 ? vaxis + K : vaxis);
		tu_assert_shape(o[0], MLD_DT_UINT1, K, V->shape);
		unsigned w = mld_dtype_dense_width(lut->dtype);
		uint64_t k = 0;
		for (uint64_t f = 0; f < V->count; f++) {
			uint64_t c[MLD_MAX_RANK] = {0};
			coords_of(f, V->shape, K, c);
			if (VS > 1)
				c[a] /= VS;
			uint8_t bit = ((uint8_t *)mask->data)[flat_of(c, idx->shape, K)];
			assert_int_equal(((uint8_t *)o[0]->data)[f], bit);
			if (bit) {
				assert_true(k < o[1]->count);
				assert_memory_equal((uint8_t *)o[1]->data + k * w, (uint8_t *)V->data + f * w, w);
				k++;
			}
		}
		assert_int_equal(o[1]->count, k);
		assert_int_equal(k, ones * VS);
		teardown(NULL);
	}
}

static float round_as(mld_dtype dt, float v)
{
	return dt == MLD_DT_FP16 ? mld__half_to_float(mld__float_to_half(v)) : v;
}

/* A random value valid for dtype dt, written at element i. */
static void put_random(mld_tensor *t, uint64_t i)
{
	uint8_t *p = t->data;
	switch (t->dtype) {
	case MLD_DT_INT4: p[i] = (uint8_t)(int8_t)((int)(rnd() % 16) - 8); break;
	case MLD_DT_UINT4: p[i] = (uint8_t)(rnd() % 16); break;
	case MLD_DT_INT8:
	case MLD_DT_UINT8: p[i] = (uint8_t)rnd(); break;
	case MLD_DT_FP16: mld__wr16(p + 2 * i, mld__float_to_half(((float)(rnd() % 4001) - 2000) / 64)); break;
	case MLD_DT_FP32: {
		float f = ((float)(rnd() % 200001) - 100000) / 1024;
		memcpy(p + 4 * i, &f, 4);
		break;
	}
	default: fail_msg("test bug: dtype %s", mld_dtype_name(t->dtype));
	}
}

static void test_shift_scale_matches_definition(void **state)
{
	(void)state;
	static const mld_dtype data_dts[] = {MLD_DT_INT4,  MLD_DT_UINT4, MLD_DT_INT8,
	                                     MLD_DT_UINT8, MLD_DT_FP16,  MLD_DT_FP32};
	for (int iter = 0; iter < 400; iter++) {
		unsigned R = 1 + rnd() % 3;
		uint64_t dshape[MLD_MAX_RANK], sshape[MLD_MAX_RANK];
		for (unsigned d = 0; d < R; d++) {
			sshape[d] = 1 + rnd() % 3;
			dshape[d] = sshape[d] * (1 + rnd() % 3);
		}
		mld_dtype ddt = data_dts[rnd() % 6], sdt = rnd() % 2 ? MLD_DT_FP16 : MLD_DT_FP32;
		mld_tensor *data = keep(tu_tensor(ddt, R, dshape, NULL));
		for (uint64_t i = 0; i < data->count; i++)
			put_random(data, i);
		mld_tensor *scale = keep(tu_tensor(sdt, R, sshape, NULL));
		for (uint64_t i = 0; i < scale->count; i++) {
			float s = (float)(1 + rnd() % 64) / 32;
			if (sdt == MLD_DT_FP16)
				mld__wr16((uint8_t *)scale->data + 2 * i, mld__float_to_half(s));
			else
				memcpy((uint8_t *)scale->data + 4 * i, &s, 4);
		}
		mld_tensor *offset = NULL;
		if (rnd() % 3) {
			mld_dtype odt = mld__dtype_is_float(ddt) ? (rnd() % 2 ? MLD_DT_FP16 : MLD_DT_FP32) : ddt;
			offset = keep(tu_tensor(odt, R, sshape, NULL));
			for (uint64_t i = 0; i < offset->count; i++)
				put_random(offset, i);
		}
		mld_tensor *out = NULL;
		assert_ok(mld__deq_shift_scale(&out, data, scale, offset));
		keep(out);
		tu_assert_shape(out, sdt, R, dshape);
		for (uint64_t f = 0; f < data->count; f++) {
			uint64_t c[MLD_MAX_RANK];
			coords_of(f, dshape, R, c);
			for (unsigned d = 0; d < R; d++)
				c[d] /= dshape[d] / sshape[d];
			uint64_t b = flat_of(c, sshape, R);
			float x = round_as(sdt, (float)mld__dense_get(ddt, data->data, f));
			if (offset)
				x = round_as(sdt,
				             x - round_as(sdt, (float)mld__dense_get(offset->dtype, offset->data, b)));
			float want = round_as(sdt, x * (float)mld__dense_get(sdt, scale->data, b));
			double got = mld__dense_get(sdt, out->data, f);
			if (got != (double)want)
				fail_msg("iteration %d: %s data rank %u, element %llu = %.9g, expected %.9g", iter,
				         mld_dtype_name(ddt), R, (unsigned long long)f, got, (double)want);
		}
		teardown(NULL);
	}
}

/* ---- mld__tensor_new ----------------------------------------------------------------------------------- */

static void test_tensor_new_limits(void **state)
{
	(void)state;
	mld_tensor *t = NULL;
	assert_mld_err(mld__tensor_new(&t, MLD_DT_FP16, 3, (uint64_t[]){1ull << 32, 1ull << 32, 2}), MLD_EFORMAT,
	               "overflow");
	assert_mld_err(mld__tensor_new(&t, MLD_DT_UINT8, 2, (uint64_t[]){UINT64_MAX, 2}), MLD_EFORMAT, "overflow");
	/* count fits but count * width does not */
	assert_mld_err(mld__tensor_new(&t, MLD_DT_FP32, 1, (uint64_t[]){1ull << 62}), MLD_EFORMAT, NULL);
	/* representable but absurd */
	assert_mld_err(mld__tensor_new(&t, MLD_DT_FP32, 1, (uint64_t[]){1ull << 40}), MLD_EFORMAT, "too large");
	uint64_t r17[17];
	for (int i = 0; i < 17; i++)
		r17[i] = 1;
	assert_mld_err(mld__tensor_new(&t, MLD_DT_FP32, 17, r17), MLD_EUNSUPPORTED, "rank");
	assert_mld_err(mld__tensor_new(&t, MLD_DT_STRING, 1, (uint64_t[]){4}), MLD_EUNSUPPORTED, "string");
	assert_mld_err(mld__tensor_new(&t, MLD_DT_INVALID, 1, (uint64_t[]){4}), MLD_EUNSUPPORTED, NULL);
	assert_null(t);

	/* an overflow that only a zero dimension could excuse still counts as zero elements */
	assert_ok(mld__tensor_new(&t, MLD_DT_FP16, 3, (uint64_t[]){0, 1ull << 40, 7}));
	keep(t);
	assert_int_equal(t->count, 0);
	assert_int_equal(t->nbytes, 0);
	/* rank 16 is allowed; sub-byte types get one byte per element; data is zeroed */
	assert_ok(mld__tensor_new(&t, MLD_DT_UINT3, 16, r17));
	keep(t);
	assert_int_equal(t->count, 1);
	assert_ok(mld__tensor_new(&t, MLD_DT_UINT4, 2, (uint64_t[]){3, 5}));
	keep(t);
	assert_int_equal(t->nbytes, 15);
	for (size_t i = 0; i < t->nbytes; i++)
		assert_int_equal(((uint8_t *)t->data)[i], 0);
	mld_tensor_free(NULL); /* NULL-safe */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_lut18_worked_example, teardown),
		cmocka_unit_test_teardown(test_lut18_vector_palette, teardown),
		cmocka_unit_test_teardown(test_lut18_grouped_inner_axis, teardown),
		cmocka_unit_test_teardown(test_lut18_int8_3d_middle_axis, teardown),
		cmocka_unit_test_teardown(test_lut18_errors, teardown),
		cmocka_unit_test_teardown(test_lut16_six_bit_straddling, teardown),
		cmocka_unit_test_teardown(test_shift_scale_int4, teardown),
		cmocka_unit_test_teardown(test_shift_scale_uint8_offset, teardown),
		cmocka_unit_test_teardown(test_shift_scale_fp16_rounding, teardown),
		cmocka_unit_test_teardown(test_shift_scale_errors, teardown),
		cmocka_unit_test_teardown(test_affine, teardown),
		cmocka_unit_test_teardown(test_sparse_ios18, teardown),
		cmocka_unit_test_teardown(test_sparse_ios16, teardown),
		cmocka_unit_test_teardown(test_cast, teardown),
		cmocka_unit_test_teardown(test_lut_to_sparse, teardown),
		cmocka_unit_test_teardown(test_sparse_shift_scale, teardown),
		cmocka_unit_test_teardown(test_chain_lut_int8_then_shift_scale, teardown),
		cmocka_unit_test_teardown(test_lut18_matches_definition, teardown),
		cmocka_unit_test_teardown(test_lut_to_sparse_matches_definition, teardown),
		cmocka_unit_test_teardown(test_shift_scale_matches_definition, teardown),
		cmocka_unit_test_teardown(test_tensor_new_limits, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
