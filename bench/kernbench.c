/* Micro-benchmarks of the compute kernels: every palette decode path and every
 * XXH3 build this CPU runs, on the same buffers in the same run, against the
 * physical limit - a memcpy of the decoded bytes for decoding, a plain read of the
 * hashed bytes for hashing. Two sizes: a large buffer (memory-bound: DRAM) and one
 * 16384-element block reused as stream_lut does (cache-resident).
 * usage: mldedup-kernbench [MiB of decoded output, default 256]
 *        mldedup-kernbench --paths    (only print the paths mldedup would use) */
#define _GNU_SOURCE
#include "core/hash.h"
#include "tensor/lutkern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h> /* the system libxxhash, for comparison */

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252u;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static volatile uint64_t sink;

/* best of `reps` timings of fn over `passes` passes */
#define BEST(reps, passes, stmt)                                                                                       \
	({                                                                                                             \
		double best_ = 1e30;                                                                                   \
		for (int r_ = 0; r_ < (reps); r_++) {                                                                  \
			double t0_ = now();                                                                            \
			for (size_t p_ = 0; p_ < (passes); p_++) {                                                     \
				stmt;                                                                                  \
				/* memory changed: no pass is hoisted */                                               \
				__asm__ volatile("" ::: "memory");                                                     \
			}                                                                                              \
			double t_ = (now() - t0_) / (double)(passes);                                                  \
			if (t_ < best_)                                                                                \
				best_ = t_;                                                                            \
		}                                                                                                      \
		best_;                                                                                                 \
	})

static const mld__lutkern *const kerns[] = {&mld__lutkern_scalar, &mld__lutkern_neon, &mld__lutkern_avx2,
                                            &mld__lutkern_avx512};
static const mld__hash_impl *const hashes[] = {&mld__hash_base, &mld__hash_avx2, &mld__hash_avx512};

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--paths")) {
		printf("lutkern %s, hash %s\n", mld__lutkern_get()->name, mld__hash_active()->name);
		return 0;
	}
	size_t mib = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 256;
	size_t n = mib << 19; /* elements: 2 bytes each */
	enum { BLOCK = 16384 };
	size_t passes_blk = (size_t)64 << 20 >> 15; /* ~64 MiB through one block */
	uint8_t *src = malloc(n), *copy = malloc(2 * n);
	uint16_t *out = malloc(2 * n), pal[256];
	if (!src || !copy || !out)
		return 1;
	for (size_t i = 0; i < n; i++)
		src[i] = (uint8_t)rnd();
	for (int e = 0; e < 256; e++)
		pal[e] = (uint16_t)rnd();
	memset(out, 1, 2 * n);
	memset(copy, 2, 2 * n);

	printf("active: lutkern %s, hash %s (MLD_CPU=%s)\n", mld__lutkern_get()->name, mld__hash_active()->name,
	       getenv("MLD_CPU") ? getenv("MLD_CPU") : "");
	double tm = BEST(5, 1, memcpy(copy, out, 2 * n));
	double tmb = BEST(5, passes_blk, memcpy(copy, out, 2 * BLOCK));
	printf("\npalette decode: GB/s of fp16 output; x = time of a memcpy of those bytes / time\n");
	printf("%-8s %-5s %10s %7s %12s %7s\n", "path", "form", "large GB/s", "x mcpy", "block GB/s", "x mcpy");
	printf("%-8s %-5s %10.2f %7.2f %12.2f %7.2f\n", "memcpy", "-", 2.0 * n / tm / 1e9, 1.0, 2.0 * BLOCK / tmb / 1e9,
	       1.0);
	const char *forms[3] = {"u4", "u6", "u8"};
	for (size_t k = 0; k < sizeof kerns / sizeof *kerns; k++) {
		const mld__lutkern *K = kerns[k];
		if (!K->u6 || !mld__cpu_has(K->isa))
			continue;
		mld__lut_fn fns[3] = {K->u4, K->u6, K->u8};
		for (int f = 0; f < 3; f++) {
			double t = BEST(3, 1, fns[f](out, src, n, pal));
			double tb = BEST(3, passes_blk, fns[f](out, src + (p_ & 7) * 64, BLOCK, pal));
			printf("%-8s %-5s %10.2f %7.2f %12.2f %7.2f\n", K->name, forms[f], 2.0 * n / t / 1e9, tm / t,
			       2.0 * BLOCK / tb / 1e9, tmb / tb);
		}
	}

	/* a read of every byte: the limit for hashing */
	size_t hb = 2 * n;
	double tr = BEST(5, 1, sink += (uintptr_t)memchr(copy, 0x7F, hb));
	double trb = BEST(5, passes_blk, sink += (uintptr_t)memchr(copy, 0x7F, 2 * BLOCK));
	printf("\nXXH3-128: GB/s hashed; x = time of a read of those bytes (memchr) / time\n");
	printf("%-8s %10s %7s %12s %7s\n", "build", "large GB/s", "x read", "block GB/s", "x read");
	printf("%-8s %10.2f %7.2f %12.2f %7.2f\n", "read", hb / tr / 1e9, 1.0, 2.0 * BLOCK / trb / 1e9, 1.0);
	{
		XXH3_state_t st;
		double t = BEST(3, 1, sink += XXH3_128bits(copy, hb).low64);
		XXH3_128bits_reset(&st);
		double tb = BEST(3, passes_blk, XXH3_128bits_update(&st, copy, 2 * BLOCK));
		printf("%-8s %10.2f %7.2f %12.2f %7.2f   (the system libxxhash)\n", "libxxh", hb / t / 1e9, tr / t,
		       2.0 * BLOCK / tb / 1e9, trb / tb);
	}
	for (size_t k = 0; k < sizeof hashes / sizeof *hashes; k++) {
		const mld__hash_impl *H = hashes[k];
		if (!H->update || !mld__cpu_has(H->isa))
			continue;
		uint8_t d[16];
		mld__hash st;
		double t = BEST(3, 1, (H->oneshot(d, copy, hb), sink += d[0]));
		H->reset(&st);
		double tb = BEST(3, passes_blk, H->update(&st, copy, 2 * BLOCK));
		printf("%-8s %10.2f %7.2f %12.2f %7.2f\n", H->name, hb / t / 1e9, tr / t, 2.0 * BLOCK / tb / 1e9,
		       trb / tb);
	}

	/* what stream_lut does per block: decode uint6 into 32 KiB, hash it */
	printf("\nstream_lut's inner step (uint6 block decode + hash of the block), GB/s of fp16 output\n");
	for (size_t k = 0; k < sizeof kerns / sizeof *kerns; k++) {
		const mld__lutkern *K = kerns[k];
		if (!K->u6 || !mld__cpu_has(K->isa))
			continue;
		const mld__hash_impl *H = mld__hash_impl_for(K->isa);
		mld__hash st;
		H->reset(&st);
		double tb = BEST(3, passes_blk,
		                 (K->u6(out, src + (p_ & 7) * 64 * 3, BLOCK, pal), H->update(&st, out, 2 * BLOCK)));
		printf("%-8s + %-8s %8.2f GB/s\n", K->name, H->name, 2.0 * BLOCK / tb / 1e9);
	}
	free(src);
	free(copy);
	free(out);
	return 0;
}
