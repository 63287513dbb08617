/* Sub-byte packing (format reference §3.5): an LSB-first bit stream. */
#include "testutil.h"

#include "tensor/subbyte.h"

typedef struct row {
	const char *type;
	unsigned bits;
	bool sign;
	size_t n;
	int vals[16];
	size_t nbytes;
	uint8_t bytes[4];
	unsigned padding;
} row;

/* The §3.5 table, verbatim. */
static const row table[] = {
	{"uint4", 4, false, 5, {1, 2, 3, 15, 7}, 3, {0x21, 0xF3, 0x07}, 4},
	{"int4", 4, true, 5, {-1, 2, -8, 7, -3}, 3, {0x2F, 0x78, 0x0D}, 4},
	{"uint3", 3, false, 3, {5, 3, 7}, 2, {0xDD, 0x01}, 7},
	{"uint6", 6, false, 4, {1, 63, 0, 42}, 3, {0xC1, 0x0F, 0xA8}, 0},
	{"uint1", 1, false, 9, {1, 0, 1, 1, 0, 0, 0, 1, 1}, 2, {0x8D, 0x01}, 7},
};

static void test_table_rows(void **state)
{
	(void)state;
	for (size_t r = 0; r < sizeof table / sizeof *table; r++) {
		const row *t = &table[r];
		uint8_t src[16], packed[8], back[16];
		for (size_t i = 0; i < t->n; i++)
			src[i] = (uint8_t)(int8_t)t->vals[i]; /* one byte per element, int4 as two's complement */

		uint64_t size = 0;
		assert_true(mld__packed_size(t->n, t->bits, &size));
		if (size != t->nbytes)
			fail_msg("%s: packed size %llu, table says %zu", t->type, (unsigned long long)size, t->nbytes);
		/* padding bits as the table lists them, and as §3.5's formula gives */
		assert_int_equal(size * 8 - t->n * t->bits, t->padding);
		assert_int_equal((8 - (t->n * t->bits) % 8) % 8, t->padding);

		memset(packed, 0xEE, sizeof packed); /* canary beyond the packed bytes */
		mld__pack(packed, src, t->n, t->bits);
		if (memcmp(packed, t->bytes, t->nbytes))
			fail_msg("%s: packed %02X %02X %02X, table says %02X %02X %02X", t->type, packed[0], packed[1],
			         packed[2], t->bytes[0], t->bytes[1], t->nbytes > 2 ? t->bytes[2] : 0);
		assert_int_equal(packed[t->nbytes], 0xEE); /* nothing written past the end */
		/* the unused high bits of the last byte are zero */
		if (t->padding)
			assert_int_equal(packed[t->nbytes - 1] >> (8 - t->padding), 0);

		/* unpack from an exact-size heap copy (ASan catches over-reads) */
		uint8_t *exact = malloc(t->nbytes);
		memcpy(exact, t->bytes, t->nbytes);
		mld__unpack(back, exact, t->n, t->bits, t->sign);
		for (size_t i = 0; i < t->n; i++) {
			int got = t->sign ? (int8_t)back[i] : back[i];
			if (got != t->vals[i])
				fail_msg("%s: element %zu unpacked to %d, expected %d", t->type, i, got, t->vals[i]);
			unsigned g = mld__packed_get(exact, i, t->bits);
			assert_int_equal(g, (unsigned)t->vals[i] & ((1u << t->bits) - 1));
		}
		free(exact);
	}
}

static void test_int4_sign_extension_full_range(void **state)
{
	(void)state;
	uint8_t src[16], packed[8], back[16];
	for (int v = -8; v < 8; v++)
		src[v + 8] = (uint8_t)(int8_t)v;
	mld__pack(packed, src, 16, 4);
	/* -8 is nibble 8, -1 is 15, 0 is 0, 7 is 7; element 0 is the low nibble */
	assert_int_equal(packed[0], 0x98);
	assert_int_equal(packed[4], 0x10);
	assert_int_equal(packed[7], 0x76);
	mld__unpack(back, packed, 16, 4, true);
	for (int v = -8; v < 8; v++)
		assert_int_equal((int8_t)back[v + 8], v);
	/* the same nibbles read unsigned are 0..15 */
	mld__unpack(back, packed, 16, 4, false);
	for (int v = -8; v < 8; v++)
		assert_int_equal(back[v + 8], (unsigned)v & 15);
}

static void test_uint2_bit_order(void **state)
{
	(void)state;
	/* element i at bits [2i, 2i+2): 0,1,2,3 -> 0b11100100 */
	uint8_t src[5] = {0, 1, 2, 3, 1}, packed[2];
	mld__pack(packed, src, 5, 2);
	assert_int_equal(packed[0], 0xE4);
	assert_int_equal(packed[1], 0x01);
	uint8_t back[5];
	mld__unpack(back, packed, 5, 2, false);
	assert_memory_equal(back, src, 5);
}

static void test_packed_size(void **state)
{
	(void)state;
	uint64_t n = 0;
	assert_true(mld__packed_size(0, 4, &n));
	assert_int_equal(n, 0);
	assert_true(mld__packed_size(1, 1, &n));
	assert_int_equal(n, 1);
	assert_true(mld__packed_size(8, 1, &n));
	assert_int_equal(n, 1);
	assert_true(mld__packed_size(9, 1, &n));
	assert_int_equal(n, 2);
	assert_true(mld__packed_size(7, 3, &n));
	assert_int_equal(n, 3);
	assert_true(mld__packed_size(10, 6, &n));
	assert_int_equal(n, 8);
	assert_true(mld__packed_size(1ull << 60, 8, &n));
	assert_int_equal(n, 1ull << 60);
	/* overflow of count * bits is reported, not wrapped */
	assert_false(mld__packed_size(UINT64_MAX, 2, &n));
	assert_false(mld__packed_size(1ull << 61, 8, &n));
	assert_false(mld__packed_size((UINT64_MAX / 3) + 1, 3, &n));
}

/* Reference packer: one bit at a time, straight from the §3.5 definition. */
static void ref_pack(uint8_t *dst, const uint8_t *src, size_t count, unsigned bits)
{
	size_t nbytes = (count * bits + 7) / 8;
	memset(dst, 0, nbytes);
	for (size_t i = 0; i < count; i++)
		for (unsigned b = 0; b < bits; b++)
			if (src[i] >> b & 1) {
				size_t sb = i * bits + b; /* stream bit */
				dst[sb / 8] |= (uint8_t)(1u << (sb % 8));
			}
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

static void test_round_trip_property(void **state)
{
	(void)state;
	static const unsigned widths[] = {1, 2, 3, 4, 6, 8};
	for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
		unsigned bits = widths[wi], mask = (1u << bits) - 1;
		for (size_t count = 0; count <= 300; count += 1 + count / 16) {
			for (int rep = 0; rep < 8; rep++) {
				uint64_t nbytes;
				assert_true(mld__packed_size(count, bits, &nbytes));
				assert_int_equal(nbytes, (count * bits + 7) / 8);
				uint8_t *src = malloc(count + 1), *back = malloc(count + 1), *sback = malloc(count + 1);
				uint8_t *packed = malloc(nbytes + 1), *ref = malloc(nbytes + 1);
				for (size_t i = 0; i < count; i++)
					src[i] = (uint8_t)(rnd() & mask);
				/* high bits above `bits` in the input must be ignored by the packer */
				uint8_t *noisy = malloc(count + 1);
				for (size_t i = 0; i < count; i++)
					noisy[i] = (uint8_t)(src[i] | (bits < 8 ? (rnd() & ~mask & 0xFF) : 0));
				mld__pack(packed, noisy, count, bits);
				ref_pack(ref, src, count, bits);
				if (nbytes && memcmp(packed, ref, nbytes))
					fail_msg(
						"width %u, %zu elements: packing differs from the bit-by-bit reference",
						bits, count);
				if (bits < 8 && (count * bits) % 8)
					assert_int_equal(packed[nbytes - 1] >> ((count * bits) % 8), 0);
				mld__unpack(back, packed, count, bits, false);
				if (count && memcmp(back, src, count))
					fail_msg("width %u, %zu elements: round trip differs", bits, count);
				for (size_t i = 0; i < count; i++)
					assert_int_equal(mld__packed_get(packed, i, bits), src[i]);
				/* signed read: two's complement of `bits` bits, sign-extended to int8 */
				mld__unpack(sback, packed, count, bits, true);
				for (size_t i = 0; i < count; i++) {
					int want = src[i] >= (1u << (bits - 1)) ? (int)src[i] - (1 << bits) : src[i];
					if ((int8_t)sback[i] != want)
						fail_msg("width %u: signed element %zu = %d, expected %d", bits, i,
						         (int8_t)sback[i], want);
				}
				free(src);
				free(back);
				free(sback);
				free(packed);
				free(ref);
				free(noisy);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_rows),          cmocka_unit_test(test_int4_sign_extension_full_range),
		cmocka_unit_test(test_uint2_bit_order),     cmocka_unit_test(test_packed_size),
		cmocka_unit_test(test_round_trip_property),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
