/* AVX2 palette kernels, compiled with -mavx2 for this file only and entered only
 * when the CPU has AVX2.
 *
 * vpshufb looks up 16 bytes of a table per 128-bit lane. The palette is split
 * into its low-byte and high-byte planes; 64 entries are four 16-entry tables
 * combined by XOR: table k's lookup with index - 16k zeroes itself below entry
 * 16k (bit 7 set), so XORing lookups of T0, T0^T1, T1^T2, T2^T3 telescopes to
 * the right entry. 256 entries would need 16 such tables: that form gathers. */
#include "lutkern.h"

#if defined(__AVX2__)
#include <immintrin.h>
#include <string.h>

typedef struct tab64 {
	__m256i l[4], h[4];
} tab64;

/* low and high bytes of 16 uint16 entries */
static inline void plane16(__m128i *lo, __m128i *hi, const uint16_t *pal)
{
	__m128i a = _mm_loadu_si128((const __m128i *)pal), b = _mm_loadu_si128((const __m128i *)(pal + 8));
	__m128i ff = _mm_set1_epi16(0xFF);
	*lo = _mm_packus_epi16(_mm_and_si128(a, ff), _mm_and_si128(b, ff));
	*hi = _mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8));
}

static inline void tab64_init(tab64 *t, const uint16_t *pal)
{
	__m128i pl = _mm_setzero_si128(), ph = _mm_setzero_si128();
	for (int k = 0; k < 4; k++) {
		__m128i l, h;
		plane16(&l, &h, pal + 16 * k);
		t->l[k] = _mm256_broadcastsi128_si256(_mm_xor_si128(l, pl));
		t->h[k] = _mm256_broadcastsi128_si256(_mm_xor_si128(h, ph));
		pl = l;
		ph = h;
	}
}

/* ix: 32 indices < 64 */
static inline void look64(__m256i *L, __m256i *H, const tab64 *t, __m256i ix)
{
	__m256i i1 = _mm256_sub_epi8(ix, _mm256_set1_epi8(16)), i2 = _mm256_sub_epi8(ix, _mm256_set1_epi8(32)),
		i3 = _mm256_sub_epi8(ix, _mm256_set1_epi8(48));
	*L = _mm256_xor_si256(_mm256_xor_si256(_mm256_shuffle_epi8(t->l[0], ix), _mm256_shuffle_epi8(t->l[1], i1)),
	                      _mm256_xor_si256(_mm256_shuffle_epi8(t->l[2], i2), _mm256_shuffle_epi8(t->l[3], i3)));
	*H = _mm256_xor_si256(_mm256_xor_si256(_mm256_shuffle_epi8(t->h[0], ix), _mm256_shuffle_epi8(t->h[1], i1)),
	                      _mm256_xor_si256(_mm256_shuffle_epi8(t->h[2], i2), _mm256_shuffle_epi8(t->h[3], i3)));
}

/* L, H hold elements 0-7 and 16-23 in lane 0, 8-15 and 24-31 in lane 1: the
 * in-lane unpacks then give elements 0-15 and 16-31 */
static inline void put32(uint16_t *dst, __m256i L, __m256i H)
{
	_mm256_storeu_si256((__m256i *)dst, _mm256_unpacklo_epi8(L, H));
	_mm256_storeu_si256((__m256i *)(dst + 16), _mm256_unpackhi_epi8(L, H));
}

static void u4_avx2(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal)
{
	__m128i l, h;
	plane16(&l, &h, pal);
	__m256i tl = _mm256_broadcastsi128_si256(l), th = _mm256_broadcastsi128_si256(h), nib = _mm256_set1_epi8(15);
	/* lane 0 gets source bytes 0-3 and 8-11, lane 1 bytes 4-7 and 12-15 */
	__m256i spread = _mm256_setr_epi32(0, 2, 0, 0, 1, 3, 0, 0);
	size_t i = 0;
	for (; n - i >= 32; i += 32) {
		__m256i y = _mm256_permutevar8x32_epi32(
			_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(src + i / 2))), spread);
		__m256i ix =
			_mm256_unpacklo_epi8(_mm256_and_si256(y, nib), _mm256_and_si256(_mm256_srli_epi16(y, 4), nib));
		put32(dst + i, _mm256_shuffle_epi8(tl, ix), _mm256_shuffle_epi8(th, ix));
	}
	if (i < n)
		mld__lutkern_scalar.u4(dst + i, src + i / 2, n - i, pal);
}

static void u6_avx2(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal)
{
	tab64 t;
	tab64_init(&t, pal);
	/* each dword gets the 3 bytes of 4 elements; lane 0 reads bytes 0-11, lane 1 12-23 */
	__m256i gather3 = _mm256_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1, 0, 1, 2, -1, 3, 4, 5,
	                                   -1, 6, 7, 8, -1, 9, 10, 11, -1);
	__m256i m0 = _mm256_set1_epi32(0x3F), m1 = _mm256_set1_epi32(0x3F00), m2 = _mm256_set1_epi32(0x3F0000),
		m3 = _mm256_set1_epi32(0x3F000000);
	size_t i = 0;
	for (; n - i >= 32; i += 32) {
		const uint8_t *s = src + i / 4 * 3;
		uint8_t tmp[32];
		if (n - i < 40) { /* the second 16-byte load would reach past the 24 bytes */
			memset(tmp, 0, sizeof tmp);
			memcpy(tmp, s, 24);
			s = tmp;
		}
		__m256i x = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)s)),
		                                    _mm_loadu_si128((const __m128i *)(s + 12)), 1);
		__m256i v = _mm256_shuffle_epi8(x, gather3);
		__m256i ix = _mm256_or_si256(
			_mm256_or_si256(_mm256_and_si256(v, m0), _mm256_and_si256(_mm256_slli_epi32(v, 2), m1)),
			_mm256_or_si256(_mm256_and_si256(_mm256_slli_epi32(v, 4), m2),
		                        _mm256_and_si256(_mm256_slli_epi32(v, 6), m3)));
		__m256i L, H;
		look64(&L, &H, &t, _mm256_permute4x64_epi64(ix, 0xD8));
		put32(dst + i, L, H);
	}
	if (i < n)
		mld__lutkern_scalar.u6(dst + i, src + i / 4 * 3, n - i, pal);
}

static void b64_avx2(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal)
{
	tab64 t;
	tab64_init(&t, pal);
	__m256i m = _mm256_set1_epi8(63);
	size_t i = 0;
	for (; n - i >= 32; i += 32) {
		__m256i ix = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(src + i)), m), L, H;
		look64(&L, &H, &t, _mm256_permute4x64_epi64(ix, 0xD8));
		put32(dst + i, L, H);
	}
	if (i < n)
		mld__lutkern_scalar.b64(dst + i, src + i, n - i, pal);
}

/* 256 entries: vpgatherdd of 4 bytes at entry j (the palette copied with 2 spare
 * entries so the last one's read stays inside), keeping the low half */
static void u8_avx2(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal)
{
	uint16_t p[258];
	memcpy(p, pal, 256 * sizeof *p);
	p[256] = p[257] = 0;
	__m256i lo16 = _mm256_set1_epi32(0xFFFF);
	size_t i = 0;
	for (; n - i >= 16; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(src + i));
		__m256i a = _mm256_i32gather_epi32((const int *)p, _mm256_cvtepu8_epi32(x), 2);
		__m256i b = _mm256_i32gather_epi32((const int *)p, _mm256_cvtepu8_epi32(_mm_srli_si128(x, 8)), 2);
		__m256i w = _mm256_packus_epi32(_mm256_and_si256(a, lo16), _mm256_and_si256(b, lo16));
		_mm256_storeu_si256((__m256i *)(dst + i), _mm256_permute4x64_epi64(w, 0xD8));
	}
	if (i < n)
		mld__lutkern_scalar.u8(dst + i, src + i, n - i, pal);
}

const mld__lutkern mld__lutkern_avx2 = {MLD_ISA_AVX2, "avx2", u4_avx2, u6_avx2, u8_avx2, b64_avx2};
#else
const mld__lutkern mld__lutkern_avx2 = {MLD_ISA_AVX2, "avx2", 0, 0, 0, 0}; /* not built */
#endif
