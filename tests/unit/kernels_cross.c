/* Standalone check of the kernels for another architecture, run under an emulator
 * (cross_check.sh): no cmocka, no store, only cpu.c, lutkern*.c and hash*.c. Every
 * palette kernel path this CPU runs against the scalar twin (all forms, palette
 * sizes, odd lengths and alignments), and the XXH3 builds against a portable
 * XXH_SCALAR build of the same header, one-shot and streamed. Exit 0 when equal. */
#include "core/hash.h"
#include "tensor/cmpkern.h"
#include "tensor/lutkern.h"

#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_SCALAR
#include <xxhash.h>

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int failures;

static void check(const mld__lutkern *k, int f, size_t n, unsigned entries, size_t off)
{
	mld__lut_fn fn = f == 0 ? k->u4 : f == 1 ? k->u6 : f == 2 ? k->u8 : k->b64;
	mld__lut_fn ref = f == 0   ? mld__lutkern_scalar.u4
	                  : f == 1 ? mld__lutkern_scalar.u6
	                  : f == 2 ? mld__lutkern_scalar.u8
	                           : mld__lutkern_scalar.b64;
	size_t nb = f == 0 ? n / 2 : f == 1 ? n / 4 * 3 : n;
	uint16_t pal[256] = {0};
	for (unsigned e = 0; e < entries; e++)
		pal[e] = (uint16_t)rnd();
	uint8_t *src = malloc(nb + off + 1);
	uint16_t *a = malloc((n + 1) * 2), *b = malloc((n + 41) * 2);
	for (size_t i = 0; i < nb + off; i++)
		src[i] = (uint8_t)rnd();
	for (size_t i = 0; i < n + 41; i++)
		b[i] = 0xA5A5;
	ref(a, src + off, n, pal);
	fn(b + 1, src + off, n, pal);
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i + 1]) {
			printf("FAIL %s form %d n=%zu: element %zu %04x != %04x\n", k->name, f, n, i, b[i + 1], a[i]);
			failures++;
			break;
		}
	if (b[0] != 0xA5A5 || b[n + 1] != 0xA5A5 || b[n + 40] != 0xA5A5) {
		printf("FAIL %s form %d n=%zu: wrote outside its output\n", k->name, f, n);
		failures++;
	}
	free(src);
	free(a);
	free(b);
}

/* the comparison kernel against the scalar one: same sums (NaN payloads aside) */
static void check_cmp(const mld__cmpkern *k, size_t n)
{
	uint16_t *a = malloc(n * 2 + 2), *b = malloc(n * 2 + 2);
	for (size_t i = 0; i < n; i++) {
		a[i] = rnd() % 97 == 0 ? (uint16_t)(0x7C00 | (rnd() % 3 ? 0 : 0x200)) : (uint16_t)(rnd() & 0xBBFF);
		b[i] = rnd() % 3 ? a[i] : (uint16_t)(a[i] ^ (rnd() & 3));
	}
	mld__cmpacc x, y;
	mld__cmpacc_init(&x);
	mld__cmpacc_init(&y);
	mld__cmpacc_feed(&x, &mld__cmpkern_scalar, MLD_DT_FP16, a, MLD_DT_FP16, b, n);
	mld__cmpacc_feed(&y, k, MLD_DT_FP16, a, MLD_DT_FP16, b, n);
	const double *p = x.dot, *q = y.dot;
	for (size_t i = 0; i < 5 * MLD_CMP_LANES; i++)
		if (memcmp(&p[i], &q[i], sizeof *p) && !(isnan(p[i]) && isnan(q[i]))) {
			printf("FAIL cmpkern %s n=%zu: sum %zu differs\n", k->name, n, i);
			failures++;
			break;
		}
	if (x.nan != y.nan) {
		printf("FAIL cmpkern %s n=%zu: NaN flag differs\n", k->name, n);
		failures++;
	}
	free(a);
	free(b);
}

int main(void)
{
	const mld__cmpkern *cks[] = {&mld__cmpkern_neon, &mld__cmpkern_avx2};
	for (size_t k = 0; k < sizeof cks / sizeof *cks; k++) {
		if (!cks[k]->f16 || mld__cmpkern_for(cks[k]->isa) != cks[k])
			continue;
		int before = failures;
		for (size_t n = 0; n < 200; n++)
			check_cmp(cks[k], n);
		for (int r = 0; r < 50; r++)
			check_cmp(cks[k], (size_t)(rnd() % 100000));
		printf("cmpkern %s: %s\n", cks[k]->name, failures > before ? "DIFFERS" : "equal to scalar");
	}
	const mld__lutkern *ks[] = {&mld__lutkern_neon, &mld__lutkern_avx2, &mld__lutkern_avx512};
	int ran = 0;
	for (size_t k = 0; k < sizeof ks / sizeof *ks; k++) {
		if (!ks[k]->u6 || !mld__cpu_has(ks[k]->isa))
			continue;
		for (int f = 0; f < 4; f++) {
			size_t grp = f == 0 ? 2 : f == 1 ? 4 : 1;
			unsigned entries = f == 0 ? 16 : f == 2 ? 256 : 64;
			for (size_t n = 0; n <= 300; n += grp)
				check(ks[k], f, n, entries, n % 5);
			for (int r = 0; r < 100; r++)
				check(ks[k], f, (size_t)(rnd() % 20000) / grp * grp, entries, (size_t)(rnd() % 7));
			check(ks[k], f, (1 << 18) + 3 * grp, entries, 1);
		}
		for (unsigned bits = 1; bits <= 6; bits++)
			for (int r = 0; r < 20; r++)
				check(ks[k], 3, (size_t)(rnd() % 3000), 1u << bits, 0);
		printf("lutkern %s: %s\n", ks[k]->name, failures ? "DIFFERS" : "equal to scalar");
		ran++;
	}
	printf("lutkern in use: %s\n", mld__lutkern_get()->name);

	size_t cap = (1 << 20) + 100;
	uint8_t *buf = malloc(cap + 64);
	for (size_t i = 0; i < cap + 64; i++)
		buf[i] = (uint8_t)rnd();
	const mld__hash_impl *hs[] = {&mld__hash_base, &mld__hash_avx2, &mld__hash_avx512};
	for (size_t k = 0; k < sizeof hs / sizeof *hs; k++) {
		const mld__hash_impl *h = hs[k];
		if (!h->update || !mld__cpu_has(h->isa))
			continue;
		int bad = 0;
		for (int r = 0; r < 400 && !bad; r++) {
			size_t n = r < 300 ? (size_t)r * 7 : (size_t)(rnd() % cap), off = (size_t)(rnd() % 64);
			XXH128_canonical_t c;
			XXH128_canonicalFromHash(&c, XXH3_128bits(buf + off, n));
			uint8_t one[16], st_out[16];
			h->oneshot(one, buf + off, n);
			mld__hash st;
			h->reset(&st);
			for (size_t done = 0; done < n;) {
				size_t piece = (size_t)(rnd() % 5000);
				piece = piece > n - done ? n - done : piece;
				h->update(&st, buf + off + done, piece);
				done += piece;
			}
			h->digest(st_out, &st);
			if (memcmp(one, c.digest, 16) || memcmp(st_out, c.digest, 16)) {
				printf("FAIL hash %s: %zu bytes at +%zu\n", h->name, n, off);
				bad = 1;
			}
		}
		failures += bad;
		printf("hash %s: %s\n", h->name, bad ? "DIFFERS" : "equal to the scalar XXH3");
	}
	free(buf);
	if (!ran)
		printf("no SIMD palette path on this CPU\n");
	return failures ? 1 : 0;
}
