/* AArch64 NEON comparison kernel (baseline there: no special flags). Lanes 0-7 are
 * the halves of four float64x2_t accumulators per sum: the scalar kernel's sums.
 * vmaxnm ignores a NaN d (the scalar kernel's "else if"); NaNs are flagged apart. */
#include "cmpkern.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

static void f16_neon(mld__cmpacc *acc, const uint16_t *a, const uint16_t *b, size_t n)
{
	float64x2_t dot[4], na[4], nb[4], sd[4], mx[4];
	for (int k = 0; k < 4; k++) {
		dot[k] = vld1q_f64(acc->dot + 2 * k);
		na[k] = vld1q_f64(acc->na + 2 * k);
		nb[k] = vld1q_f64(acc->nb + 2 * k);
		sd[k] = vld1q_f64(acc->sd + 2 * k);
		mx[k] = vld1q_f64(acc->mx + 2 * k);
	}
	uint64x2_t ok = vdupq_n_u64(~(uint64_t)0);
	for (size_t i = 0; i < n; i += 8) {
		float32x4_t fa[2] = {vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(a + i))),
		                     vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(a + i + 4)))};
		float32x4_t fb[2] = {vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(b + i))),
		                     vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(b + i + 4)))};
		for (int h = 0; h < 2; h++) {
			float64x2_t x[2] = {vcvt_f64_f32(vget_low_f32(fa[h])), vcvt_high_f64_f32(fa[h])};
			float64x2_t y[2] = {vcvt_f64_f32(vget_low_f32(fb[h])), vcvt_high_f64_f32(fb[h])};
			for (int q = 0; q < 2; q++) {
				int k = 2 * h + q;
				dot[k] = vaddq_f64(dot[k], vmulq_f64(x[q], y[q]));
				na[k] = vaddq_f64(na[k], vmulq_f64(x[q], x[q]));
				nb[k] = vaddq_f64(nb[k], vmulq_f64(y[q], y[q]));
				float64x2_t d = vabsq_f64(vsubq_f64(x[q], y[q]));
				sd[k] = vaddq_f64(sd[k], d);
				ok = vandq_u64(ok, vceqq_f64(d, d));
				mx[k] = vmaxnmq_f64(mx[k], d);
			}
		}
	}
	for (int k = 0; k < 4; k++) {
		vst1q_f64(acc->dot + 2 * k, dot[k]);
		vst1q_f64(acc->na + 2 * k, na[k]);
		vst1q_f64(acc->nb + 2 * k, nb[k]);
		vst1q_f64(acc->sd + 2 * k, sd[k]);
		vst1q_f64(acc->mx + 2 * k, mx[k]);
	}
	if ((vgetq_lane_u64(ok, 0) & vgetq_lane_u64(ok, 1)) != ~(uint64_t)0)
		acc->nan = 1;
}

const mld__cmpkern mld__cmpkern_neon = {MLD_ISA_NEON, "neon", f16_neon};
#else
const mld__cmpkern mld__cmpkern_neon = {MLD_ISA_NEON, "neon", NULL};
#endif
