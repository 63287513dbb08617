/* AVX-512 (F+BW+VBMI) palette kernels, compiled with -mavx512f -mavx512bw -mavx512vbmi
 * for this file only and entered only when the CPU has them.
 *
 * 64 elements per step. The palette's low bytes and high bytes each fill one zmm,
 * so vpermb looks up 64 of either in one instruction (1 uop, where vpermi2w on
 * uint16 entries takes 3), and vpunpck{l,h}bw joins them into uint16. Packed
 * indices are split with vpermb (each qword gets the source bytes of 8 elements)
 * and vpmultishiftqb (byte k of a qword = 8 bits from bit k*n). The qwords are
 * filled in the order that makes the in-lane unpacks come out in element order. */
#include "lutkern.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VBMI__)
#include <immintrin.h>

/* bytes b, b+1, ..., b+7 */
#define SEQ(b) (UINT64_C(0x0706050403020100) + (uint64_t)(b)*UINT64_C(0x0101010101010101))
/* Output element order: byte position 16L + 8h + k holds element 32h + 8L + k, so
 * qword q (L = q / 2, h = q % 2) holds the 8 elements from 8 * G[q]. */
#define G0 0
#define G1 4
#define G2 1
#define G3 5
#define G4 2
#define G5 6
#define G6 3
#define G7 7
static const uint64_t arr8[8] = {SEQ(8 * G0), SEQ(8 * G1), SEQ(8 * G2), SEQ(8 * G3),
                                 SEQ(8 * G4), SEQ(8 * G5), SEQ(8 * G6), SEQ(8 * G7)};
#define C6(g) (SEQ(6 * (g)) & UINT64_C(0xFFFFFFFFFFFF)) /* 8 uint6 = 6 bytes */
static const uint64_t arr6[8] = {C6(G0), C6(G1), C6(G2), C6(G3), C6(G4), C6(G5), C6(G6), C6(G7)};
#define C4(g) (SEQ(4 * (g)) & UINT64_C(0xFFFFFFFF)) /* 8 uint4 = 4 bytes */
static const uint64_t arr4[8] = {C4(G0), C4(G1), C4(G2), C4(G3), C4(G4), C4(G5), C4(G6), C4(G7)};
#define MS6 UINT64_C(0x2A241E18120C0600) /* bit offsets 0, 6, ..., 42 */
#define MS4 UINT64_C(0x1C1814100C080400) /* bit offsets 0, 4, ..., 28 */

static inline __m512i ld(const uint64_t *q) { return _mm512_loadu_si512((const void *)q); }

/* byte j of the result = byte 2j (even) of a:b, 0 <= j < 64 */
static inline __m512i even_bytes(void)
{
	return _mm512_set_epi64((long long)SEQ(56) * 2, (long long)SEQ(48) * 2, (long long)SEQ(40) * 2,
	                        (long long)SEQ(32) * 2, (long long)SEQ(24) * 2, (long long)SEQ(16) * 2,
	                        (long long)SEQ(8) * 2, (long long)SEQ(0) * 2);
}

/* 64 uint16 entries -> low-byte and high-byte tables */
static inline void planes64(__m512i *lo, __m512i *hi, const uint16_t *pal)
{
	__m512i a = _mm512_loadu_si512((const void *)pal), b = _mm512_loadu_si512((const void *)(pal + 32));
	__m512i ev = even_bytes();
	*lo = _mm512_permutex2var_epi8(a, ev, b);
	*hi = _mm512_permutex2var_epi8(a, _mm512_add_epi8(ev, _mm512_set1_epi8(1)), b);
}

/* 16 entries, repeated four times: index bits 4 and 5 then do not matter */
static inline void planes16(__m512i *lo, __m512i *hi, const uint16_t *pal)
{
	__m512i a = _mm512_broadcast_i64x4(_mm256_loadu_si256((const void *)pal));
	__m512i ev = _mm512_and_si512(even_bytes(), _mm512_set1_epi8(31));
	*lo = _mm512_permutexvar_epi8(ev, a);
	*hi = _mm512_permutexvar_epi8(_mm512_add_epi8(ev, _mm512_set1_epi8(1)), a);
}

static inline void put(uint16_t *dst, __m512i l, __m512i h, size_t m)
{
	__m512i a = _mm512_unpacklo_epi8(l, h), b = _mm512_unpackhi_epi8(l, h);
	if (m >= 64) {
		_mm512_storeu_si512((void *)dst, a);
		_mm512_storeu_si512((void *)(dst + 32), b);
		return;
	}
	__mmask32 k0 = m >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << m) - 1);
	__mmask32 k1 = m > 32 ? (__mmask32)((1u << (m - 32)) - 1) : 0;
	_mm512_mask_storeu_epi16(dst, k0, a);
	_mm512_mask_storeu_epi16(dst + 32, k1, b);
}

static inline __mmask64 first(size_t bytes) { return bytes >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << bytes) - 1; }

static void u4_avx512(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal)
{
	__m512i lo, hi, ctl = ld(arr4), ms = _mm512_set1_epi64((long long)MS4);
	planes16(&lo, &hi, pal);
	for (size_t i = 0; i < n; i += 64) {
		size_t m = n - i;
		__m512i x = _mm512_maskz_loadu_epi8(first(m >= 64 ? 32 : m / 2), src + i / 2);
		__m512i ix = _mm512_multishift_epi64_epi8(ms, _mm512_permutexvar_epi8(ctl, x));
		put(dst + i, _mm512_permutexvar_epi8(ix, lo), _mm512_permutexvar_epi8(ix, hi), m);
	}
}

static void u6_avx512(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal)
{
	__m512i lo, hi, ctl = ld(arr6), ms = _mm512_set1_epi64((long long)MS6);
	planes64(&lo, &hi, pal);
	for (size_t i = 0; i < n; i += 64) {
		size_t m = n - i;
		__m512i x = _mm512_maskz_loadu_epi8(first(m >= 64 ? 48 : m / 4 * 3), src + i / 4 * 3);
		__m512i ix = _mm512_multishift_epi64_epi8(ms, _mm512_permutexvar_epi8(ctl, x));
		put(dst + i, _mm512_permutexvar_epi8(ix, lo), _mm512_permutexvar_epi8(ix, hi), m);
	}
}

static void b64_avx512(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal)
{
	__m512i lo, hi, ctl = ld(arr8);
	planes64(&lo, &hi, pal);
	for (size_t i = 0; i < n; i += 64) {
		size_t m = n - i;
		__m512i ix = _mm512_permutexvar_epi8(ctl, _mm512_maskz_loadu_epi8(first(m), src + i));
		put(dst + i, _mm512_permutexvar_epi8(ix, lo), _mm512_permutexvar_epi8(ix, hi), m);
	}
}

/* 256 entries: four 64-entry tables per byte plane; vpermi2b covers two (index bit
 * 6 picks), index bit 7 picks between the two pairs. */
static void u8_avx512(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal)
{
	__m512i lo[4], hi[4], ctl = ld(arr8), ev = even_bytes(), od = _mm512_add_epi8(ev, _mm512_set1_epi8(1));
	for (int k = 0; k < 4; k++) {
		__m512i a = _mm512_loadu_si512((const void *)(pal + 64 * k)),
			b = _mm512_loadu_si512((const void *)(pal + 64 * k + 32));
		lo[k] = _mm512_permutex2var_epi8(a, ev, b);
		hi[k] = _mm512_permutex2var_epi8(a, od, b);
	}
	for (size_t i = 0; i < n; i += 64) {
		size_t m = n - i;
		__m512i ix = _mm512_permutexvar_epi8(ctl, _mm512_maskz_loadu_epi8(first(m), src + i));
		__mmask64 top = _mm512_movepi8_mask(ix);
		__m512i l = _mm512_mask_blend_epi8(top, _mm512_permutex2var_epi8(lo[0], ix, lo[1]),
		                                   _mm512_permutex2var_epi8(lo[2], ix, lo[3]));
		__m512i h = _mm512_mask_blend_epi8(top, _mm512_permutex2var_epi8(hi[0], ix, hi[1]),
		                                   _mm512_permutex2var_epi8(hi[2], ix, hi[3]));
		put(dst + i, l, h, m);
	}
}

const mld__lutkern mld__lutkern_avx512 = {MLD_ISA_AVX512, "avx512", u4_avx512, u6_avx512, u8_avx512, b64_avx512};
#else
const mld__lutkern mld__lutkern_avx512 = {MLD_ISA_AVX512, "avx512", 0, 0, 0, 0}; /* not built */
#endif
