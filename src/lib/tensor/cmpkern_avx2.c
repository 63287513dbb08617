/* AVX2 comparison kernel (with F16C's fp16 conversion), compiled with -mavx2 -mf16c
 * for this file only and entered only when the CPU has both. Lanes 0-3 and 4-7 are
 * the two halves of each pair of __m256d accumulators: the scalar kernel's sums. */
#include "cmpkern.h"

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>

static void f16_avx2(mld__cmpacc *acc, const uint16_t *a, const uint16_t *b, size_t n)
{
	__m256d dot0 = _mm256_loadu_pd(acc->dot), dot1 = _mm256_loadu_pd(acc->dot + 4);
	__m256d na0 = _mm256_loadu_pd(acc->na), na1 = _mm256_loadu_pd(acc->na + 4);
	__m256d nb0 = _mm256_loadu_pd(acc->nb), nb1 = _mm256_loadu_pd(acc->nb + 4);
	__m256d sd0 = _mm256_loadu_pd(acc->sd), sd1 = _mm256_loadu_pd(acc->sd + 4);
	__m256d mx0 = _mm256_loadu_pd(acc->mx), mx1 = _mm256_loadu_pd(acc->mx + 4);
	__m256d nan = _mm256_setzero_pd(), sign = _mm256_set1_pd(-0.0);
	for (size_t i = 0; i < n; i += 8) {
		__m256 fa = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i)));
		__m256 fb = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i)));
		__m256d x0 = _mm256_cvtps_pd(_mm256_castps256_ps128(fa)),
			x1 = _mm256_cvtps_pd(_mm256_extractf128_ps(fa, 1));
		__m256d y0 = _mm256_cvtps_pd(_mm256_castps256_ps128(fb)),
			y1 = _mm256_cvtps_pd(_mm256_extractf128_ps(fb, 1));
		dot0 = _mm256_add_pd(dot0, _mm256_mul_pd(x0, y0));
		dot1 = _mm256_add_pd(dot1, _mm256_mul_pd(x1, y1));
		na0 = _mm256_add_pd(na0, _mm256_mul_pd(x0, x0));
		na1 = _mm256_add_pd(na1, _mm256_mul_pd(x1, x1));
		nb0 = _mm256_add_pd(nb0, _mm256_mul_pd(y0, y0));
		nb1 = _mm256_add_pd(nb1, _mm256_mul_pd(y1, y1));
		__m256d d0 = _mm256_andnot_pd(sign, _mm256_sub_pd(x0, y0)),
			d1 = _mm256_andnot_pd(sign, _mm256_sub_pd(x1, y1));
		sd0 = _mm256_add_pd(sd0, d0);
		sd1 = _mm256_add_pd(sd1, d1);
		nan = _mm256_or_pd(
			nan, _mm256_or_pd(_mm256_cmp_pd(d0, d0, _CMP_UNORD_Q), _mm256_cmp_pd(d1, d1, _CMP_UNORD_Q)));
		mx0 = _mm256_max_pd(d0, mx0); /* a NaN d keeps mx: the scalar kernel's "else if" */
		mx1 = _mm256_max_pd(d1, mx1);
	}
	_mm256_storeu_pd(acc->dot, dot0), _mm256_storeu_pd(acc->dot + 4, dot1);
	_mm256_storeu_pd(acc->na, na0), _mm256_storeu_pd(acc->na + 4, na1);
	_mm256_storeu_pd(acc->nb, nb0), _mm256_storeu_pd(acc->nb + 4, nb1);
	_mm256_storeu_pd(acc->sd, sd0), _mm256_storeu_pd(acc->sd + 4, sd1);
	_mm256_storeu_pd(acc->mx, mx0), _mm256_storeu_pd(acc->mx + 4, mx1);
	if (_mm256_movemask_pd(nan))
		acc->nan = 1;
}

const mld__cmpkern mld__cmpkern_avx2 = {MLD_ISA_AVX2, "avx2", f16_avx2};
#else
const mld__cmpkern mld__cmpkern_avx2 = {MLD_ISA_AVX2, "avx2", NULL};
#endif
