/* IEEE binary16 <-> binary32 conversion (round to nearest, ties to even, as numpy's
 * astype(np.float16) does). */
#include "testutil.h"

#include <float.h>

static float bits_to_float(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static uint32_t float_to_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

#define assert_half(f, expect)                                                                                         \
	do {                                                                                                           \
		float f_ = (f);                                                                                        \
		uint16_t got_ = mld__float_to_half(f_), want_ = (uint16_t)(expect);                                    \
		if (got_ != want_)                                                                                     \
			fail_msg("float_to_half(%s = %.10g) = 0x%04X, expected 0x%04X", #f, (double)f_, got_, want_);  \
	} while (0)

static void test_exact_values(void **state)
{
	(void)state;
	static const struct {
		uint16_t h;
		double f;
	} exact[] = {
		{0x0000, 0.0},
		{0x3C00, 1.0},
		{0xBC00, -1.0},
		{0x4000, 2.0},
		{0xC000, -2.0},
		{0x3800, 0.5},
		{0xB800, -0.5},
		{0x3E00, 1.5},
		{0x4248, 3.140625},
		{0x3555, 0.333251953125},
		{0x2E66, 0.0999755859375},
		{0x5640, 100.0},
		{0x6800, 2048.0},
		{0x6801, 2050.0},
		{0x7BFF, 65504.0},
		{0xFBFF, -65504.0},
		{0x0400, 6.103515625e-05},       /* smallest normal, 2^-14 */
		{0x03FF, 6.097555160522461e-05}, /* largest subnormal, 1023 * 2^-24 */
		{0x0200, 3.0517578125e-05},      /* 2^-15 */
		{0x0001, 5.960464477539063e-08}, /* smallest subnormal, 2^-24 */
		{0x8001, -5.960464477539063e-08},
		{0x3BFF, 0.99951171875}, /* 1 - 2^-11 */
		{0x3C01, 1.0009765625},  /* 1 + 2^-10 */
	};
	for (size_t i = 0; i < sizeof exact / sizeof *exact; i++) {
		float f = mld__half_to_float(exact[i].h);
		if ((double)f != exact[i].f)
			fail_msg("half_to_float(0x%04X) = %.17g, expected %.17g", exact[i].h, (double)f, exact[i].f);
		assert_half((float)exact[i].f, exact[i].h);
	}
	/* signed zero */
	assert_true(signbit(mld__half_to_float(0x8000)));
	assert_feq(mld__half_to_float(0x8000), -0.0);
	assert_half(-0.0f, 0x8000);
	assert_half(0.0f, 0x0000);
	/* infinities */
	assert_true(isinf(mld__half_to_float(0x7C00)) && mld__half_to_float(0x7C00) > 0);
	assert_true(isinf(mld__half_to_float(0xFC00)) && mld__half_to_float(0xFC00) < 0);
	assert_half(INFINITY, 0x7C00);
	assert_half(-INFINITY, 0xFC00);
}

static void test_rounding_ties_to_even(void **state)
{
	(void)state;
	/* normal range: ulp of [1,2) is 2^-10 */
	assert_half(1.0f + 0x1p-11f, 0x3C00);            /* tie, 0x3C00 is even */
	assert_half(1.0f + 3 * 0x1p-11f, 0x3C02);        /* tie, 0x3C01 is odd -> up */
	assert_half(1.0f + 0x1p-11f + 0x1p-20f, 0x3C01); /* just above the tie */
	assert_half(1.0f + 0x1p-11f - 0x1p-20f, 0x3C00); /* just below the tie */
	assert_half(-(1.0f + 3 * 0x1p-11f), 0xBC02);
	assert_half(2049.0f, 0x6800); /* tie between 2048 and 2050 */
	assert_half(2051.0f, 0x6802); /* tie between 2050 and 2052 */
	assert_half(2047.5f, 0x6800); /* tie, carries into the exponent */
	assert_half(0.1f, 0x2E66);
	assert_half(1.0f / 3.0f, 0x3555);
	assert_half(1000.25f, 0x63D0); /* 1000.25 -> 1000 (even) */
	assert_half(1000.75f, 0x63D2); /* 1000.75 -> 1001 (even) */
	/* subnormal range: ulp is 2^-24 */
	assert_half(0x1p-25f, 0x0000); /* half the smallest: tie -> 0 */
	assert_half(-0x1p-25f, 0x8000);
	assert_half(0x1p-25f + 0x1p-40f, 0x0001); /* above the tie */
	assert_half(1.5f * 0x1p-25f, 0x0001);
	assert_half(3 * 0x1p-25f, 0x0002);        /* 1.5 ulp: tie -> 2 */
	assert_half(5 * 0x1p-25f, 0x0002);        /* 2.5 ulp: tie -> 2 */
	assert_half(7 * 0x1p-25f, 0x0004);        /* 3.5 ulp: tie -> 4 */
	assert_half(0x1p-14f - 0x1p-25f, 0x0400); /* 1023.5 ulp: tie -> smallest normal */
	assert_half(0x1p-14f - 0x1p-24f, 0x03FF);
	assert_half(0x1p-26f, 0x0000);
	assert_half(1e-30f, 0x0000);
	assert_half(-1e-30f, 0x8000);
	assert_half(FLT_TRUE_MIN, 0x0000);
	assert_half(FLT_MIN, 0x0000);
}

static void test_overflow_to_inf(void **state)
{
	(void)state;
	assert_half(65504.0f, 0x7BFF);
	assert_half(65519.0f, 0x7BFF);
	assert_half(65519.996f, 0x7BFF);
	assert_half(65520.0f, 0x7C00); /* tie between 65504 (odd) and 65536: rounds to inf */
	assert_half(-65520.0f, 0xFC00);
	assert_half(65536.0f, 0x7C00);
	assert_half(1e10f, 0x7C00);
	assert_half(-1e10f, 0xFC00);
	assert_half(FLT_MAX, 0x7C00);
	assert_half(-FLT_MAX, 0xFC00);
}

static bool half_is_nan(uint16_t h) { return (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0; }

static void test_nan(void **state)
{
	(void)state;
	assert_true(half_is_nan(mld__float_to_half(NAN)));
	assert_true(half_is_nan(mld__float_to_half(-NAN)));
	/* payloads living only in the low mantissa bits must not collapse to inf */
	assert_true(half_is_nan(mld__float_to_half(bits_to_float(0x7F800001u))));
	assert_true(half_is_nan(mld__float_to_half(bits_to_float(0xFF800001u))));
	assert_true(half_is_nan(mld__float_to_half(bits_to_float(0x7FC00000u))));
	static const uint16_t nans[] = {0x7C01, 0x7E00, 0x7FFF, 0xFC01, 0xFE00, 0xFFFF};
	for (size_t i = 0; i < sizeof nans / sizeof *nans; i++) {
		assert_true(isnan(mld__half_to_float(nans[i])));
		assert_true(half_is_nan(mld__float_to_half(mld__half_to_float(nans[i]))));
	}
}

static void test_exhaustive_half_round_trip(void **state)
{
	(void)state;
	unsigned non_nan = 0;
	for (uint32_t h = 0; h < 65536; h++) {
		float f = mld__half_to_float((uint16_t)h);
		if (half_is_nan((uint16_t)h)) {
			assert_true(isnan(f));
			continue;
		}
		non_nan++;
		uint16_t back = mld__float_to_half(f);
		if (back != h)
			fail_msg("0x%04X -> %.10g -> 0x%04X", h, (double)f, back);
		/* value check against the definition: (-1)^s * 2^(e-15) * (1 + m/1024), or subnormal */
		unsigned s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
		double want = e == 0 ? ldexp(m, -24) : e == 31 ? INFINITY : ldexp(1024 + m, (int)e - 25);
		if (s)
			want = -want;
		if ((double)f != want || !signbit(f) != !signbit(want))
			fail_msg("half_to_float(0x%04X) = %.17g, expected %.17g", h, (double)f, want);
	}
	assert_int_equal(non_nan, 65536 - 2 * 1023);
}

/* Independent reference: round |f| to the binary16 grid with nearbyint() (the
 * default rounding mode is to nearest, ties to even) in exact double arithmetic. */
static uint16_t ref_float_to_half(float f)
{
	uint16_t sign = signbit(f) ? 0x8000 : 0;
	double a = fabs((double)f);
	if (isnan(f))
		return 0x7E00;
	if (a >= 65520.0)
		return sign | 0x7C00;
	if (a < 0x1p-14) /* subnormal grid: multiples of 2^-24 (a carry to 1024 is 0x0400) */
		return (uint16_t)(sign | (uint16_t)nearbyint(a * 0x1p24));
	int e;
	double m = frexp(a, &e); /* a = m * 2^e, m in [0.5, 1) */
	double q = nearbyint((m * 2 - 1) * 1024);
	e -= 1;
	if (q == 1024) {
		q = 0;
		e++;
	}
	if (e + 15 >= 31)
		return sign | 0x7C00;
	return (uint16_t)(sign | (uint16_t)((e + 15) << 10) | (uint16_t)q);
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd32(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void test_float_to_half_matches_reference(void **state)
{
	(void)state;
	/* every float whose exponent is in or near the binary16 range, sampled densely:
	 * all 2^23 mantissas would be slow under sanitizers, so walk each exponent
	 * with a stride plus the values around every rounding boundary */
	unsigned checked = 0;
	for (uint32_t exp = 100; exp <= 145; exp++) {
		for (uint32_t man = 0; man < (1u << 23); man += 997) {
			for (uint32_t sign = 0; sign < 2; sign++) {
				uint32_t u = sign << 31 | exp << 23 | man;
				float f = bits_to_float(u);
				uint16_t got = mld__float_to_half(f), want = ref_float_to_half(f);
				if (got != want)
					fail_msg("float 0x%08X (%.10g): 0x%04X, reference 0x%04X", u, (double)f, got,
					         want);
				checked++;
			}
		}
		/* the ties and their neighbours: mantissas ending in 0x1000 (normal range) */
		for (uint32_t hi = 0; hi < (1u << 10); hi += 7) {
			for (int d = -1; d <= 1; d++) {
				uint32_t u = exp << 23 | ((hi << 13) + 0x1000u + (uint32_t)d);
				float f = bits_to_float(u);
				uint16_t got = mld__float_to_half(f), want = ref_float_to_half(f);
				if (got != want)
					fail_msg("float 0x%08X (%.10g): 0x%04X, reference 0x%04X", u, (double)f, got,
					         want);
				checked++;
			}
		}
	}
	/* random bit patterns over the whole float range */
	for (int i = 0; i < 2000000; i++) {
		float f = bits_to_float(rnd32());
		if (isnan(f))
			continue;
		uint16_t got = mld__float_to_half(f), want = ref_float_to_half(f);
		if (got != want)
			fail_msg("float 0x%08X (%.10g): 0x%04X, reference 0x%04X", float_to_bits(f), (double)f, got,
			         want);
		checked++;
	}
#ifdef __FLT16_MAX__
	/* and the compiler's own _Float16 conversion, where it exists */
	for (int i = 0; i < 2000000; i++) {
		uint32_t r = rnd32(); /* sign, mantissa random; exponent 2^-27 .. 2^18 */
		uint32_t u = (r & 0x807FFFFFu) | (100u + (r >> 23 & 0xFF) % 46u) << 23;
		float f = bits_to_float(u);
		_Float16 h = (_Float16)f;
		uint16_t hb;
		memcpy(&hb, &h, 2);
		if (mld__float_to_half(f) != hb)
			fail_msg("float 0x%08X: 0x%04X, _Float16 gives 0x%04X", u, mld__float_to_half(f), hb);
	}
#endif
	assert_true(checked > 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_values),
		cmocka_unit_test(test_rounding_ties_to_even),
		cmocka_unit_test(test_overflow_to_inf),
		cmocka_unit_test(test_nan),
		cmocka_unit_test(test_exhaustive_half_round_trip),
		cmocka_unit_test(test_float_to_half_matches_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
