/* Deterministic randomness: splitmix64 streams keyed by strings, so every weight can
 * be regenerated on its own, in any order, on any machine. */
#include "toygen.h"

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* FNV-1a over the bytes, folded into h. */
uint64_t tg_hash_str(uint64_t h, const char *s)
{
	uint64_t f = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		f = (f ^ (uint8_t)*s) * 0x100000001b3ULL;
	return mix64(h ^ f);
}

tg_rng tg_rng_for(uint64_t seed, const char *tag, const char *name, uint64_t extra)
{
	uint64_t h = mix64(seed + 0x9e3779b97f4a7c15ULL);
	h = tg_hash_str(h, tag);
	h = tg_hash_str(h, name ? name : "");
	return (tg_rng){mix64(h ^ mix64(extra))};
}

uint64_t tg_next(tg_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix64(r->s);
}

double tg_unit(tg_rng *r) { return (double)(tg_next(r) >> 11) * 0x1.0p-53; }

/* Irwin-Hall of four 16-bit uniforms: one 64-bit draw per value, integer exact. */
double tg_normal(tg_rng *r)
{
	uint64_t x = tg_next(r);
	uint32_t s = (uint32_t)(x & 0xffff) + (uint32_t)(x >> 16 & 0xffff) + (uint32_t)(x >> 32 & 0xffff) +
	             (uint32_t)(x >> 48);
	/* sum of 4 U(0,1): mean 2, variance 1/3 */
	return ((double)s / 65536.0 - 2.0 + 2.0 / 65536.0) * 1.7320508075688772;
}

uint32_t tg_below(tg_rng *r, uint32_t n) { return (uint32_t)(((tg_next(r) >> 32) * (uint64_t)n) >> 32); }
