/* AArch64 NEON palette kernels (NEON is baseline there: no special flags).
 *
 * vld2q splits the palette into its low-byte and high-byte planes; vqtbl4q looks
 * up 16 indices in a 64-byte table (indices >= 64 give 0, vqtbx4q leaves them:
 * four of those cover 256 entries). vld3q/vst4q do the uint6 (de)interleaving. */
#include "lutkern.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

/* 16 * nt uint16 entries -> nt 16-byte tables per plane */
static inline void planes(uint8x16x4_t *lo, uint8x16x4_t *hi, const uint16_t *pal, int nt)
{
	for (int k = 0; k < nt; k++) {
		uint8x16x2_t d = vld2q_u8((const uint8_t *)(pal + 16 * k));
		lo->val[k] = d.val[0];
		hi->val[k] = d.val[1];
	}
}

static inline uint16x8_t zlo(uint8x16_t l, uint8x16_t h) { return vreinterpretq_u16_u8(vzip1q_u8(l, h)); }
static inline uint16x8_t zhi(uint8x16_t l, uint8x16_t h) { return vreinterpretq_u16_u8(vzip2q_u8(l, h)); }

static void u4_neon(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal)
{
	uint8x16x4_t tl, th;
	planes(&tl, &th, pal, 1);
	uint8x16_t nib = vdupq_n_u8(15);
	size_t i = 0;
	for (; n - i >= 32; i += 32) {
		uint8x16_t x = vld1q_u8(src + i / 2), a = vandq_u8(x, nib), b = vshrq_n_u8(x, 4);
		uint8x16_t la = vqtbl1q_u8(tl.val[0], a), ha = vqtbl1q_u8(th.val[0], a);
		uint8x16_t lb = vqtbl1q_u8(tl.val[0], b), hb = vqtbl1q_u8(th.val[0], b);
		/* element 2g is byte g's low nibble, 2g+1 its high one */
		/* named, not compound literals: clang's vst2q_u16 etc. are macros, and a braced
		 * list's commas would split their arguments */
		uint16x8x2_t lo = {{zlo(la, ha), zlo(lb, hb)}}, hi = {{zhi(la, ha), zhi(lb, hb)}};
		vst2q_u16(dst + i, lo);
		vst2q_u16(dst + i + 16, hi);
	}
	if (i < n)
		mld__lutkern_scalar.u4(dst + i, src + i / 2, n - i, pal);
}

static void u6_neon(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal)
{
	uint8x16x4_t tl, th;
	planes(&tl, &th, pal, 4);
	uint8x16_t m6 = vdupq_n_u8(63);
	size_t i = 0;
	for (; n - i >= 64; i += 64) {
		/* group g (elements 4g..4g+3) is bytes b0[g], b1[g], b2[g] */
		uint8x16x3_t b = vld3q_u8(src + i / 4 * 3);
		uint8x16_t ix[4] = {
			vandq_u8(b.val[0], m6), vandq_u8(vsliq_n_u8(vshrq_n_u8(b.val[0], 6), b.val[1], 2), m6),
			vandq_u8(vsliq_n_u8(vshrq_n_u8(b.val[1], 4), b.val[2], 4), m6), vshrq_n_u8(b.val[2], 2)};
		uint8x16_t l[4], h[4];
		for (int k = 0; k < 4; k++) {
			l[k] = vqtbl4q_u8(tl, ix[k]);
			h[k] = vqtbl4q_u8(th, ix[k]);
		}
		uint16x8x4_t lo = {{zlo(l[0], h[0]), zlo(l[1], h[1]), zlo(l[2], h[2]), zlo(l[3], h[3])}};
		uint16x8x4_t hi = {{zhi(l[0], h[0]), zhi(l[1], h[1]), zhi(l[2], h[2]), zhi(l[3], h[3])}};
		vst4q_u16(dst + i, lo);
		vst4q_u16(dst + i + 32, hi);
	}
	if (i < n)
		mld__lutkern_scalar.u6(dst + i, src + i / 4 * 3, n - i, pal);
}

static void b64_neon(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal)
{
	uint8x16x4_t tl, th;
	planes(&tl, &th, pal, 4);
	uint8x16_t m6 = vdupq_n_u8(63);
	size_t i = 0;
	for (; n - i >= 16; i += 16) {
		uint8x16_t x = vandq_u8(vld1q_u8(src + i), m6);
		uint8x16x2_t v = {{vqtbl4q_u8(tl, x), vqtbl4q_u8(th, x)}};
		vst2q_u8((uint8_t *)(dst + i), v);
	}
	if (i < n)
		mld__lutkern_scalar.b64(dst + i, src + i, n - i, pal);
}

static void u8_neon(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal)
{
	uint8x16x4_t tl[4], th[4];
	for (int k = 0; k < 4; k++)
		planes(&tl[k], &th[k], pal + 64 * k, 4);
	uint8x16_t c64 = vdupq_n_u8(64);
	size_t i = 0;
	for (; n - i >= 16; i += 16) {
		uint8x16_t x = vld1q_u8(src + i), y = vsubq_u8(x, c64), z = vsubq_u8(y, c64), w = vsubq_u8(z, c64);
		uint8x16_t l = vqtbl4q_u8(tl[0], x), h = vqtbl4q_u8(th[0], x);
		l = vqtbx4q_u8(l, tl[1], y);
		h = vqtbx4q_u8(h, th[1], y);
		l = vqtbx4q_u8(l, tl[2], z);
		h = vqtbx4q_u8(h, th[2], z);
		l = vqtbx4q_u8(l, tl[3], w);
		h = vqtbx4q_u8(h, th[3], w);
		uint8x16x2_t v = {{l, h}};
		vst2q_u8((uint8_t *)(dst + i), v);
	}
	if (i < n)
		mld__lutkern_scalar.u8(dst + i, src + i, n - i, pal);
}

const mld__lutkern mld__lutkern_neon = {MLD_ISA_NEON, "neon", u4_neon, u6_neon, u8_neon, b64_neon};
#else
const mld__lutkern mld__lutkern_neon = {MLD_ISA_NEON, "neon", 0, 0, 0, 0}; /* not built */
#endif
