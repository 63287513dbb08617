/* Palettization: a per-group 1-D k-means over fp16 values, as coremltools'
 * per_grouped_channel mode does (groups of `group_size` output rows). The values
 * are sorted once and clustered as (unique value, count) pairs, which keeps it fast
 * enough for half-billion-parameter presets. */
#include "toygen.h"

#include "core/dtype.h"
#include "tensor/subbyte.h"

#include <math.h>
#include <stdlib.h>

#define KM_MAX_ITERS 16

typedef struct km_scratch {
	uint16_t *a, *b;    /* radix-sort buffers (order keys) */
	double *uv;         /* unique values, ascending */
	uint32_t *uc;       /* their counts */
	double *pw;         /* prefix sums of value x count (U + 1) */
	uint64_t *pc;       /* prefix sums of counts (U + 1) */
	uint8_t map[65536]; /* fp16 bits -> palette index, valid for the current group */
} km_scratch;

/* fp16 bits -> a key that sorts like the value (negatives reversed). */
static inline uint16_t order_key(uint16_t h) { return (h & 0x8000) ? (uint16_t)~h : (uint16_t)(h | 0x8000); }
static inline uint16_t key_half(uint16_t k) { return (k & 0x8000) ? (uint16_t)(k & 0x7fff) : (uint16_t)~k; }

/* Two-pass LSD radix sort of 16-bit keys: linear time for any group size. */
static void radix16(uint16_t *a, uint16_t *tmp, size_t n)
{
	size_t c0[257] = {0}, c1[257] = {0};
	for (size_t i = 0; i < n; i++) {
		c0[(a[i] & 0xff) + 1]++;
		c1[(a[i] >> 8) + 1]++;
	}
	for (int i = 0; i < 256; i++) {
		c0[i + 1] += c0[i];
		c1[i + 1] += c1[i];
	}
	for (size_t i = 0; i < n; i++)
		tmp[c0[a[i] & 0xff]++] = a[i];
	for (size_t i = 0; i < n; i++)
		a[c1[tmp[i] >> 8]++] = tmp[i];
}

/* Sorted unique values of a group with their counts; returns how many. */
static size_t uniques(km_scratch *s, const uint16_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s->a[i] = order_key(w[i]);
	radix16(s->a, s->b, n);
	size_t u = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && s->a[i] == s->a[i - 1]) {
			s->uc[u - 1]++;
			continue;
		}
		s->b[u] = key_half(s->a[i]); /* b now holds the unique fp16 bits */
		s->uv[u] = mld__half_to_float(s->b[u]);
		s->uc[u++] = 1;
	}
	return u;
}

/* Initial centroids at the weighted quantiles (j + 1/2) / K. */
static void km_init(double *c, unsigned K, const double *uv, const uint32_t *uc, size_t U, size_t n)
{
	size_t u = 0, below = uc[0];
	for (unsigned j = 0; j < K; j++) {
		double target = ((double)j + 0.5) * (double)n / K;
		while (u + 1 < U && (double)below <= target)
			below += uc[++u];
		c[j] = uv[u];
	}
}

/* First u in [lo, hi) with uv[u] > x (hi if none). */
static size_t upper_bound(const double *uv, size_t lo, size_t hi, double x)
{
	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;
		if (uv[m] > x)
			hi = m;
		else
			lo = m + 1;
	}
	return lo;
}

/* Lloyd iterations. In 1-D with sorted centroids each cluster is a run of the
 * sorted values cut at the midpoints, so with prefix sums (pw of value x count,
 * pc of counts) an iteration costs K binary searches instead of a pass over the
 * values. Stops once no centroid moves by more than a millionth of the group's
 * range, or after KM_MAX_ITERS. */
static void km_lloyd(double *c, unsigned K, const double *uv, const double *pw, const uint64_t *pc, size_t U)
{
	double mid[256], tol = (uv[U - 1] - uv[0]) * 1e-6;
	for (int it = 0; it < KM_MAX_ITERS; it++) {
		for (unsigned k = 0; k + 1 < K; k++)
			mid[k] = 0.5 * (c[k] + c[k + 1]);
		double moved = 0;
		size_t start = 0;
		for (unsigned k = 0; k < K; k++) {
			size_t end = k + 1 < K ? upper_bound(uv, start, U, mid[k]) : U;
			if (end > start) { /* empty clusters keep their centroid (order is kept) */
				double nc = (pw[end] - pw[start]) / (double)(pc[end] - pc[start]);
				moved = fmax(moved, fabs(nc - c[k]));
				c[k] = nc;
			}
			start = end;
		}
		if (moved <= tol)
			break;
	}
}

static void palettize_group(km_scratch *s, const uint16_t *w, size_t n, unsigned K, uint16_t *lut, uint8_t *idx)
{
	double c[256], lv[256];
	size_t U = uniques(s, w, n);
	s->pw[0] = 0;
	s->pc[0] = 0;
	for (size_t u = 0; u < U; u++) {
		s->pw[u + 1] = s->pw[u] + s->uv[u] * s->uc[u];
		s->pc[u + 1] = s->pc[u] + s->uc[u];
	}
	km_init(c, K, s->uv, s->uc, U, n);
	km_lloyd(c, K, s->uv, s->pw, s->pc, U);
	for (unsigned j = 0; j < K; j++) {
		lut[j] = mld__float_to_half((float)c[j]);
		lv[j] = mld__half_to_float(lut[j]); /* rounding is monotonic: still sorted */
	}
	unsigned j = 0;
	for (size_t u = 0; u < U; u++) { /* nearest stored palette entry per unique value */
		while (j + 1 < K && s->uv[u] - lv[j] > lv[j + 1] - s->uv[u])
			j++;
		s->map[s->b[u]] = (uint8_t)j;
	}
	for (size_t i = 0; i < n; i++)
		idx[i] = s->map[w[i]];
}

static void pack_indices(tg_lut *o, const uint8_t *idx)
{
	uint64_t n = (uint64_t)o->rows * o->cols;
	if (!mld__packed_size(n, o->bits, &o->packed_size))
		tg_die("weight too large to pack");
	o->packed = tg_alloc(o->packed_size);
	mld__pack(o->packed, idx, n, o->bits);
	o->pad_bits = (uint32_t)((8 - (n * o->bits) % 8) % 8);
}

void tg_palettize(tg_lut *o, const uint16_t *w, uint32_t rows, uint32_t cols, unsigned bits, unsigned group_size)
{
	*o = (tg_lut){.rows = rows, .cols = cols, .K = 1u << bits, .groups = rows / group_size, .bits = bits};
	size_t gn = (size_t)group_size * cols;
	km_scratch *s = tg_alloc(sizeof *s);
	s->a = tg_alloc(gn * sizeof *s->a);
	s->b = tg_alloc(gn * sizeof *s->b);
	s->uv = tg_alloc(gn * sizeof *s->uv);
	s->uc = tg_alloc(gn * sizeof *s->uc);
	s->pw = tg_alloc((gn + 1) * sizeof *s->pw);
	s->pc = tg_alloc((gn + 1) * sizeof *s->pc);
	uint8_t *idx = tg_alloc((size_t)rows * cols);
	o->lut = tg_alloc((size_t)o->groups * o->K * sizeof *o->lut);
	for (uint32_t g = 0; g < o->groups; g++)
		palettize_group(s, w + g * gn, gn, o->K, o->lut + (size_t)g * o->K, idx + g * gn);
	pack_indices(o, idx);
	free(idx);
	free(s->a);
	free(s->b);
	free(s->uv);
	free(s->uc);
	free(s->pw);
	free(s->pc);
	free(s);
}

static uint8_t *unpack_indices(const tg_lut *l)
{
	uint64_t n = (uint64_t)l->rows * l->cols;
	uint8_t *idx = tg_alloc(n);
	mld__unpack(idx, l->packed, n, l->bits, false);
	return idx;
}

/* A random permutation of K entries that is not the identity. */
static void shuffle(uint8_t *perm, unsigned K, tg_rng *r)
{
	for (unsigned j = 0; j < K; j++)
		perm[j] = (uint8_t)j;
	for (unsigned j = K - 1; j > 0; j--) {
		unsigned k = tg_below(r, j + 1);
		uint8_t t = perm[j];
		perm[j] = perm[k];
		perm[k] = t;
	}
	unsigned fixed = 0;
	for (unsigned j = 0; j < K; j++)
		fixed += perm[j] == j;
	if (fixed == K) {
		perm[0] = 1;
		perm[1] = 0;
	}
}

void tg_permute(tg_lut *o, const tg_lut *src, tg_rng *r)
{
	*o = *src;
	o->borrowed = false;
	o->lut = tg_alloc((size_t)src->groups * src->K * sizeof *o->lut);
	uint8_t *perm = tg_alloc((size_t)src->groups * src->K);
	for (uint32_t g = 0; g < src->groups; g++) {
		uint8_t *pg = perm + (size_t)g * src->K;
		shuffle(pg, src->K, r);
		for (unsigned j = 0; j < src->K; j++) /* entry j moves to slot pg[j] */
			o->lut[(size_t)g * src->K + pg[j]] = src->lut[(size_t)g * src->K + j];
	}
	uint8_t *idx = unpack_indices(src);
	size_t per_group = (size_t)(src->rows / src->groups) * src->cols;
	for (size_t i = 0; i < (size_t)src->rows * src->cols; i++)
		idx[i] = perm[(i / per_group) * src->K + idx[i]];
	pack_indices(o, idx);
	free(idx);
	free(perm);
}

void tg_refit(tg_lut *o, const tg_lut *src, const uint16_t *w)
{
	*o = *src;
	o->borrowed = false;
	o->lut = memcpy(tg_alloc((size_t)src->groups * src->K * sizeof *o->lut), src->lut,
	                (size_t)src->groups * src->K * sizeof *o->lut);
	o->packed = memcpy(tg_alloc(src->packed_size), src->packed, src->packed_size);
	uint8_t *idx = unpack_indices(src);
	size_t per_group = (size_t)(src->rows / src->groups) * src->cols;
	double *sum = tg_alloc(src->K * sizeof *sum);
	uint64_t *cnt = tg_alloc(src->K * sizeof *cnt);
	for (uint32_t g = 0; g < src->groups; g++) {
		memset(sum, 0, src->K * sizeof *sum);
		memset(cnt, 0, src->K * sizeof *cnt);
		for (size_t i = g * per_group; i < (g + 1) * per_group; i++) {
			sum[idx[i]] += mld__half_to_float(w[i]);
			cnt[idx[i]]++;
		}
		for (unsigned j = 0; j < src->K; j++) /* unused entries keep the source's value */
			if (cnt[j])
				o->lut[(size_t)g * src->K + j] = mld__float_to_half((float)(sum[j] / (double)cnt[j]));
	}
	free(sum);
	free(cnt);
	free(idx);
}

uint16_t *tg_dequant(const tg_lut *l)
{
	size_t n = (size_t)l->rows * l->cols, per_group = (size_t)(l->rows / l->groups) * l->cols;
	uint8_t *idx = unpack_indices(l);
	uint16_t *out = tg_alloc(n * sizeof *out);
	for (size_t i = 0; i < n; i++)
		out[i] = l->lut[(i / per_group) * l->K + idx[i]];
	free(idx);
	return out;
}

void tg_lut_free(tg_lut *l)
{
	if (!l->borrowed) {
		free(l->lut);
		free(l->packed);
	}
	l->lut = NULL;
	l->packed = NULL;
}

/* The metrics ANEMLL's relaxed dedup uses, in double over the flattened tensors. */
tg_diff tg_compare(const uint16_t *a, const uint16_t *b, uint64_t n)
{
	double dot = 0, na = 0, nb = 0, sabs = 0, mabs = 0;
	bool same = true;
	for (uint64_t i = 0; i < n; i++) {
		double x = mld__half_to_float(a[i]), y = mld__half_to_float(b[i]), d = fabs(x - y);
		same &= a[i] == b[i];
		dot += x * y;
		na += x * x;
		nb += y * y;
		sabs += d;
		if (d > mabs)
			mabs = d;
	}
	double cosv = na > 0 && nb > 0 ? dot / (sqrt(na) * sqrt(nb)) : (na == nb ? 1.0 : 0.0);
	return (tg_diff){cosv, n ? sabs / (double)n : 0, mabs, same};
}
