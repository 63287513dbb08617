/* Content digests of dense tensors, and their hex form. */
#include "testutil.h"

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

static mld_tensor *make(mld_dtype dt, unsigned rank, const uint64_t *shape, const void *data)
{
	return tu_tensor(dt, rank, shape, data);
}

static bool same(const mld_digest *a, const mld_digest *b) { return !memcmp(a->bytes, b->bytes, 16); }

static void test_digest_equal_for_equal_tensors(void **state)
{
	(void)state;
	uint16_t v[4] = {0x3C00, 0x4000, 0xB800, 0x0000};
	mld_tensor *a = make(MLD_DT_FP16, 1, (uint64_t[]){4}, v);
	mld_tensor *b = make(MLD_DT_FP16, 1, (uint64_t[]){4}, v);
	mld_digest da, db, da2;
	mld_tensor_digest(&da, a);
	mld_tensor_digest(&db, b);
	mld_tensor_digest(&da2, a);
	assert_true(same(&da, &db));
	assert_true(same(&da, &da2));
	/* not trivially zero */
	static const mld_digest zero;
	assert_false(same(&da, &zero));
	mld_tensor_free(a);
	mld_tensor_free(b);
}

static void test_digest_differs(void **state)
{
	(void)state;
	uint16_t v[4] = {0x3C00, 0x4000, 0xB800, 0x0000};
	mld_tensor *base = make(MLD_DT_FP16, 1, (uint64_t[]){4}, v);
	mld_digest d0, d;
	mld_tensor_digest(&d0, base);

	/* same bytes, another dtype of the same width */
	mld_tensor *t = make(MLD_DT_INT16, 1, (uint64_t[]){4}, v);
	mld_tensor_digest(&d, t);
	assert_false(same(&d0, &d));
	mld_tensor_free(t);
	t = make(MLD_DT_BF16, 1, (uint64_t[]){4}, v);
	mld_tensor_digest(&d, t);
	assert_false(same(&d0, &d));
	mld_tensor_free(t);

	/* same bytes, other shapes */
	static const struct {
		unsigned rank;
		uint64_t shape[3];
	} shapes[] = {{2, {2, 2}}, {2, {4, 1}}, {2, {1, 4}}, {3, {1, 2, 2}}};
	mld_digest seen[4];
	for (size_t i = 0; i < 4; i++) {
		t = make(MLD_DT_FP16, shapes[i].rank, shapes[i].shape, v);
		mld_tensor_digest(&seen[i], t);
		assert_false(same(&d0, &seen[i]));
		for (size_t j = 0; j < i; j++)
			assert_false(same(&seen[j], &seen[i]));
		mld_tensor_free(t);
	}

	/* one value changed, in each position; one bit is enough */
	for (int i = 0; i < 4; i++) {
		uint16_t w[4];
		memcpy(w, v, sizeof w);
		w[i] ^= 1;
		t = make(MLD_DT_FP16, 1, (uint64_t[]){4}, w);
		mld_tensor_digest(&d, t);
		assert_false(same(&d0, &d));
		mld_tensor_free(t);
	}
	/* +0.0 and -0.0 are different contents (the digest is exact, not value equality) */
	uint16_t negz[4] = {0x3C00, 0x4000, 0xB800, 0x8000};
	t = make(MLD_DT_FP16, 1, (uint64_t[]){4}, negz);
	mld_tensor_digest(&d, t);
	assert_false(same(&d0, &d));
	mld_tensor_free(t);

	/* a scalar differs from a one-element vector */
	mld_tensor *s0 = make(MLD_DT_FP32, 0, NULL, (float[]){1});
	mld_tensor *s1 = make(MLD_DT_FP32, 1, (uint64_t[]){1}, (float[]){1});
	mld_digest ds0, ds1;
	mld_tensor_digest(&ds0, s0);
	mld_tensor_digest(&ds1, s1);
	assert_false(same(&ds0, &ds1));
	mld_tensor_free(s0);
	mld_tensor_free(s1);
	mld_tensor_free(base);
}

/* The content digest format is persisted in stores: pin it.
 * H = XXH3-128("mldc1" || u64 dtype || u64 rank || u64 dims... || data), canonical bytes. */
static void test_digest_format_is_stable(void **state)
{
	(void)state;
	uint8_t data[6] = {1, 2, 3, 4, 5, 6};
	mld_tensor *t = make(MLD_DT_INT8, 2, (uint64_t[]){2, 3}, data);
	mld_digest d;
	mld_tensor_digest(&d, t);

	uint8_t buf[5 + 8 * 4 + 6], *p = buf;
	memcpy(p, "mldc1", 5);
	p += 5;
	uint64_t fields[4] = {MLD_DT_INT8, 2, 2, 3};
	for (int i = 0; i < 4; i++, p += 8)
		mld__wr64(p, fields[i]);
	memcpy(p, data, 6);
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, XXH3_128bits(buf, sizeof buf));
	assert_memory_equal(d.bytes, c.digest, 16);
	mld_tensor_free(t);
}

static void test_hex_round_trip(void **state)
{
	(void)state;
	mld_digest d, back;
	for (int i = 0; i < 16; i++)
		d.bytes[i] = (uint8_t)(i * 17 + 0x0A);
	char hex[33];
	memset(hex, 'x', sizeof hex);
	mld_digest_hex(hex, &d);
	assert_int_equal(hex[32], 0);
	assert_string_equal(hex, "0a1b2c3d4e5f708192a3b4c5d6e7f809");
	memset(&back, 0xAA, sizeof back);
	assert_ok(mld_digest_from_hex(&back, hex));
	assert_memory_equal(back.bytes, d.bytes, 16);
	/* upper case is accepted */
	memset(&back, 0, sizeof back);
	assert_ok(mld_digest_from_hex(&back, "0A1B2C3D4E5F708192A3B4C5D6E7F809"));
	assert_memory_equal(back.bytes, d.bytes, 16);
	/* all-zero and all-ones */
	memset(d.bytes, 0xFF, 16);
	mld_digest_hex(hex, &d);
	assert_string_equal(hex, "ffffffffffffffffffffffffffffffff");
	assert_ok(mld_digest_from_hex(&back, hex));
	assert_memory_equal(back.bytes, d.bytes, 16);
	/* a real digest round trips */
	mld_tensor *t = make(MLD_DT_UINT8, 1, (uint64_t[]){3}, (uint8_t[]){7, 8, 9});
	mld_tensor_digest(&d, t);
	mld_digest_hex(hex, &d);
	assert_int_equal(strlen(hex), 32);
	assert_ok(mld_digest_from_hex(&back, hex));
	assert_memory_equal(back.bytes, d.bytes, 16);
	mld_tensor_free(t);
}

static void test_hex_rejects_bad_input(void **state)
{
	(void)state;
	static const char *bad[] = {
		"",
		"0",
		"0a1b2c3d4e5f708192a3b4c5d6e7f80",   /* 31 digits */
		"0a1b2c3d4e5f708192a3b4c5d6e7f8090", /* 33 digits */
		"0a1b2c3d4e5f708192a3b4c5d6e7f80g",  /* non-hex */
		"0a1b2c3d4e5f708192a3b4c5d6e7f80 ",
		" 0a1b2c3d4e5f708192a3b4c5d6e7f80",
		"0x1b2c3d4e5f708192a3b4c5d6e7f809",
		"0a1b2c3d4e5f-08192a3b4c5d6e7f809",
		"0a1b2c3d4e5f708192a3b4c5d6e7f8\xc3\xa9",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		mld_digest d;
		assert_mld_err(mld_digest_from_hex(&d, bad[i]), MLD_EUSAGE, "32 hex digits");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_equal_for_equal_tensors), cmocka_unit_test(test_digest_differs),
		cmocka_unit_test(test_digest_format_is_stable),        cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_hex_rejects_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
