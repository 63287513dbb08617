/* Which weights a package has, how each relates to the anchor's copy (the plan),
 * and building their data. The anchor holds the master weights; every other
 * package of the chunk copies them exactly, permutes their palette, adds
 * microscopic noise before re-palettizing, or draws new values. */
#include "toygen.h"

#include "core/dtype.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#define MICRO_NOISE 1e-4
#define MICRO_TRIES 12

static const char *const ATTN[] = {"self_attn_q_proj", "self_attn_k_proj", "self_attn_v_proj", "self_attn_o_proj"};
static const char *const MLP[] = {"mlp_gate_proj", "mlp_up_proj", "mlp_down_proj"};

const char *tg_rel_name(tg_rel r)
{
	static const char *const names[] = {"anchor", "exact", "permute", "micro", "different", "shape_mismatch"};
	return names[r];
}

const char *tg_weight_op_name(const tg_weight *w, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s", w->name, w->kind == W_LUT ? "_palettized" : "");
	return buf;
}

const tg_weight *tg_find_weight(const tg_pkg *pkg, const char *name)
{
	for (size_t i = 0; i < pkg->n_w; i++)
		if (!strcmp(pkg->w[i].name, name))
			return &pkg->w[i];
	return NULL;
}

/* ---- the weight list ------------------------------------------------------------------ */

static void add_weight(tg_pkg *pkg, tg_kind kind, uint32_t rows, uint32_t cols, const char *name)
{
	pkg->w = tg_grow(pkg->w, pkg->n_w, sizeof *pkg->w);
	tg_weight *w = &pkg->w[pkg->n_w++];
	memset(w, 0, sizeof *w);
	snprintf(w->name, sizeof w->name, "%s", name);
	w->kind = kind;
	w->rows = rows;
	w->cols = cols;
}

/* (out, in) of a projection. */
static void proj_dims(const tg_params *p, const char *which, uint32_t *rows, uint32_t *cols)
{
	uint32_t H = (uint32_t)p->hidden, Q = (uint32_t)(p->heads * p->head_dim),
		 KV = (uint32_t)(p->kv_heads * p->head_dim), I = (uint32_t)p->inter;
	if (!strcmp(which, "self_attn_q_proj"))
		*rows = Q, *cols = H;
	else if (!strcmp(which, "self_attn_k_proj") || !strcmp(which, "self_attn_v_proj"))
		*rows = KV, *cols = H;
	else if (!strcmp(which, "self_attn_o_proj"))
		*rows = H, *cols = Q;
	else if (!strcmp(which, "mlp_down_proj"))
		*rows = H, *cols = I;
	else
		*rows = I, *cols = H;
}

static void add_layer(tg_pkg *pkg, const tg_params *p, int gl)
{
	char name[96];
	uint32_t rows, cols, H = (uint32_t)p->hidden;
	snprintf(name, sizeof name, "layers_%d_input_layernorm_weight", gl);
	add_weight(pkg, W_GAMMA, H, 1, name);
	for (int k = 0; k < 4; k++) {
		proj_dims(p, ATTN[k], &rows, &cols);
		snprintf(name, sizeof name, "layers_%d_%s_weight", gl, ATTN[k]);
		add_weight(pkg, W_LUT, rows, cols, name);
	}
	snprintf(name, sizeof name, "layers_%d_post_attention_layernorm_weight", gl);
	add_weight(pkg, W_GAMMA, H, 1, name);
	for (int k = 0; k < 3; k++) {
		proj_dims(p, MLP[k], &rows, &cols);
		snprintf(name, sizeof name, "layers_%d_%s_weight", gl, MLP[k]);
		add_weight(pkg, W_LUT, rows, cols, name);
	}
}

/* In graph order: rope tables, then per layer norm, attention, norm, MLP. */
static void list_weights(tg_pkg *pkg, const tg_params *p)
{
	add_weight(pkg, W_ROPE_COS, (uint32_t)pkg->ctx, (uint32_t)p->head_dim, "rope_cos");
	add_weight(pkg, W_ROPE_SIN, (uint32_t)pkg->ctx, (uint32_t)p->head_dim, "rope_sin");
	int Lc = tg_layers_per_chunk(p);
	for (int li = 0; li < Lc; li++)
		add_layer(pkg, p, pkg->chunk * Lc + li);
	if (pkg->chunk == p->chunks - 1)
		add_weight(pkg, W_GAMMA, (uint32_t)p->hidden, 1, "model_norm_weight");
}

/* ---- the plan --------------------------------------------------------------------------- */

/* The i-th weight of `kind` class (LUT or gamma), or NULL. */
static tg_weight *nth_of(tg_pkg *pkg, bool lut, size_t i)
{
	for (size_t k = 0; k < pkg->n_w; k++)
		if (((pkg->w[k].kind == W_LUT) == lut) && pkg->w[k].kind != W_ROPE_COS &&
		    pkg->w[k].kind != W_ROPE_SIN && i-- == 0)
			return &pkg->w[k];
	return NULL;
}

static size_t count_of(const tg_pkg *pkg, tg_kind kind)
{
	size_t n = 0;
	for (size_t k = 0; k < pkg->n_w; k++)
		n += pkg->w[k].kind == kind;
	return n;
}

/* Every package gets at least one permute, micro and different palettized weight
 * and one micro gamma, at seeded positions; the rest are drawn, mostly exact. */
static void force_relations(tg_pkg *pkg, tg_rng *r)
{
	size_t n_lut = count_of(pkg, W_LUT), n_gamma = count_of(pkg, W_GAMMA);
	static const tg_rel forced[] = {REL_PERMUTE, REL_MICRO, REL_DIFFERENT};
	for (size_t f = 0; f < 3 && n_lut >= 3; f++) {
		tg_weight *w;
		do
			w = nth_of(pkg, true, tg_below(r, (uint32_t)n_lut));
		while (w->rel != REL_EXACT);
		w->rel = forced[f];
	}
	if (n_gamma)
		nth_of(pkg, false, tg_below(r, (uint32_t)n_gamma))->rel = REL_MICRO;
}

void tg_plan_package(tg_pkg *pkg, const tg_params *p, const tg_pkg *anchor)
{
	list_weights(pkg, p);
	if (!anchor) {
		for (size_t i = 0; i < pkg->n_w; i++)
			pkg->w[i].rel = REL_ANCHOR;
		return;
	}
	tg_rng r = tg_rng_for(p->seed, "plan", pkg->relpath, 0);
	for (size_t i = 0; i < pkg->n_w; i++)
		pkg->w[i].rel = REL_EXACT;
	force_relations(pkg, &r);
	for (size_t i = 0; i < pkg->n_w; i++) {
		tg_weight *w = &pkg->w[i];
		double u = tg_unit(&r); /* drawn for every weight: the plan does not shift */
		if (w->kind == W_ROPE_COS || w->kind == W_ROPE_SIN)
			w->rel = pkg->ctx == anchor->ctx ? REL_EXACT : REL_SHAPE;
		else if (w->rel != REL_EXACT)
			continue;
		else if (w->kind == W_LUT)
			w->rel = u < 0.10 ? REL_MICRO : u < 0.15 ? REL_PERMUTE : u < 0.20 ? REL_DIFFERENT : REL_EXACT;
		else
			w->rel = u < 0.10 ? REL_MICRO : u < 0.15 ? REL_DIFFERENT : REL_EXACT;
	}
}

/* ---- weight data ---------------------------------------------------------------------- */

/* Projections ~ N(0, 1/in); RMSNorm gammas ~ 1 + N(0, 0.1^2). */
static uint16_t *draw_values(const tg_weight *w, tg_rng *r)
{
	size_t n = (size_t)w->rows * w->cols;
	uint16_t *v = tg_alloc(n * sizeof *v);
	double scale = w->kind == W_LUT ? 1.0 / sqrt((double)w->cols) : 0.1;
	double base = w->kind == W_LUT ? 0.0 : 1.0;
	for (size_t i = 0; i < n; i++)
		v[i] = mld__float_to_half((float)(base + scale * tg_normal(r)));
	return v;
}

static uint16_t *master_values(const tg_params *p, const tg_weight *w)
{
	tg_rng r = tg_rng_for(p->seed, "master", w->name, 0);
	return draw_values(w, &r);
}

/* double -> fp16 rounded once, as numpy's astype(float16) does: going through
 * float can land exactly on a tie (sin(300) does) and then round the wrong way. */
static uint16_t half_from_double(double x)
{
	uint16_t h = mld__float_to_half((float)x);
	double hv = mld__half_to_float(h);
	if (hv == x || (h & 0x7fff) == 0 || (h & 0x7fff) >= 0x7bff)
		return h;                    /* exact, zero or at the top of the range: nothing to fix */
	bool up = (x > hv) == !(h & 0x8000); /* away from zero */
	uint16_t n = (uint16_t)(up ? h + 1 : h - 1);
	double dh = fabs(x - hv), dn = fabs(x - mld__half_to_float(n));
	return dn < dh || (dn == dh && !(n & 1)) ? n : h;
}

/* HF-style tables: column i uses frequency theta^(-2(i mod HD/2)/HD). */
static uint16_t *rope_table(const tg_weight *w)
{
	uint32_t half = w->cols / 2;
	uint16_t *t = tg_alloc((size_t)w->rows * w->cols * sizeof *t);
	for (uint32_t pos = 0; pos < w->rows; pos++)
		for (uint32_t i = 0; i < w->cols; i++) {
			double f = pow(10000.0, -2.0 * (double)(i % half) / (double)w->cols), a = (double)pos * f;
			t[(size_t)pos * w->cols + i] = half_from_double(w->kind == W_ROPE_COS ? cos(a) : sin(a));
		}
	return t;
}

static uint16_t *with_noise(const uint16_t *x, size_t n, double rel, tg_rng *r)
{
	uint16_t *v = tg_alloc(n * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = mld__float_to_half((float)(mld__half_to_float(x[i]) * (1.0 + rel * tg_normal(r))));
	return v;
}

/* Dense values of a built weight (a new buffer). */
static uint16_t *dense_of(const tg_weight *w)
{
	if (w->kind == W_LUT)
		return tg_dequant(&w->lut);
	size_t n = (size_t)w->rows * w->cols * sizeof(uint16_t);
	return memcpy(tg_alloc(n), w->dense, n);
}

/* Set w's data from dense values (palettizing LUT weights); takes `v`. */
static void set_values(tg_weight *w, const tg_params *p, uint16_t *v)
{
	if (w->kind == W_LUT) {
		tg_palettize(&w->lut, v, w->rows, w->cols, (unsigned)p->lut_bits, (unsigned)p->group_size);
		free(v);
	} else {
		w->dense = v;
	}
}

static void clear_values(tg_weight *w)
{
	tg_lut_free(&w->lut);
	if (!w->dense_borrowed)
		free(w->dense);
	w->dense = NULL;
}

static bool is_micro(const tg_diff *d) { return !d->identical && d->cos > 0.9999 && d->mean_abs <= 0.001; }

/* Relative noise on the master, then its own palette: first by a fresh k-means
 * (indices may move), and if that lands outside the micro thresholds (a value
 * crossing a coarse LUT4 boundary is enough in a small tensor) by re-fitting the
 * anchor's palette to the noisy values (same indices). The noise doubles while
 * fp16 rounding swallows it and the copy stays value-identical. */
static void build_micro(tg_weight *w, const tg_params *p, const tg_pkg *pkg, const tg_weight *aw)
{
	uint16_t *master = w->kind == W_LUT ? master_values(p, w) : dense_of(aw), *ref = dense_of(aw);
	size_t n = (size_t)w->rows * w->cols;
	tg_rng r = tg_rng_for(p->seed, "micro", pkg->relpath, tg_hash_str(0, w->name));
	w->noise = MICRO_NOISE;
	for (int t = 0; t < MICRO_TRIES; t++) {
		clear_values(w);
		uint16_t *v = with_noise(master, n, w->noise, &r);
		w->refit = w->kind == W_LUT && t >= MICRO_TRIES / 2;
		if (w->refit) {
			tg_refit(&w->lut, &aw->lut, v);
			free(v);
		} else {
			set_values(w, p, v);
		}
		uint16_t *mine = dense_of(w);
		w->diff = tg_compare(ref, mine, n);
		free(mine);
		if (is_micro(&w->diff))
			break;
		if (w->diff.identical)
			w->noise *= 2;
	}
	if (!is_micro(&w->diff))
		tg_die("%s: %s: no micro copy within the thresholds (cos %.6f, mean|d| %.2g%s)", pkg->relpath, w->name,
		       w->diff.cos, w->diff.mean_abs, w->diff.identical ? ", identical" : "");
	free(master);
	free(ref);
}

static void build_vs_anchor(tg_weight *w, const tg_params *p, const tg_pkg *pkg, const tg_weight *aw)
{
	size_t n = (size_t)w->rows * w->cols;
	switch (w->rel) {
	case REL_EXACT: /* the very same bytes */
		w->lut = aw->lut;
		w->lut.borrowed = true;
		w->dense = aw->dense;
		w->dense_borrowed = true;
		w->diff = (tg_diff){1.0, 0.0, 0.0, true};
		return;
	case REL_PERMUTE: {
		tg_rng r = tg_rng_for(p->seed, "permute", pkg->relpath, tg_hash_str(0, w->name));
		tg_permute(&w->lut, &aw->lut, &r);
		break;
	}
	case REL_MICRO: build_micro(w, p, pkg, aw); return;
	case REL_DIFFERENT: {
		tg_rng r = tg_rng_for(p->seed, "different", pkg->relpath, tg_hash_str(0, w->name));
		set_values(w, p, draw_values(w, &r));
		break;
	}
	default: tg_die("internal error: relation %s for %s", tg_rel_name(w->rel), w->name);
	}
	uint16_t *a = dense_of(aw), *b = dense_of(w);
	w->diff = tg_compare(a, b, n);
	free(a);
	free(b);
}

static void build_one(tg_weight *w, const tg_params *p, const tg_pkg *pkg, const tg_pkg *anchor)
{
	if (w->kind == W_ROPE_COS || w->kind == W_ROPE_SIN) {
		w->dense = rope_table(w); /* a pure function of the context */
		w->diff = (tg_diff){1.0, 0.0, 0.0, true};
		return;
	}
	if (w->rel == REL_ANCHOR) {
		set_values(w, p, master_values(p, w));
		return;
	}
	const tg_weight *aw = tg_find_weight(anchor, w->name);
	if (!aw)
		tg_die("internal error: the anchor has no weight %s", w->name);
	build_vs_anchor(w, p, pkg, aw);
}

/* ---- a small pool: each weight is independent and deterministic on its own ---------- */

typedef struct pool {
	tg_pkg *pkg;
	const tg_params *p;
	const tg_pkg *anchor;
	size_t next;
	pthread_mutex_t mu;
} pool;

static void *worker(void *arg)
{
	pool *pl = arg;
	for (;;) {
		pthread_mutex_lock(&pl->mu);
		size_t i = pl->next++;
		pthread_mutex_unlock(&pl->mu);
		if (i >= pl->pkg->n_w)
			return NULL;
		build_one(&pl->pkg->w[i], pl->p, pl->pkg, pl->anchor);
	}
}

void tg_build_weights(tg_pkg *pkg, const tg_params *p, const tg_pkg *anchor)
{
	pool pl = {pkg, p, anchor, 0, PTHREAD_MUTEX_INITIALIZER};
	int n = p->jobs > 1 ? p->jobs : 1;
	pthread_t *th = tg_alloc((size_t)n * sizeof *th);
	int started = 0;
	for (int i = 1; i < n; i++)
		if (pthread_create(&th[i], NULL, worker, &pl) == 0)
			started = i;
		else
			break;
	worker(&pl);
	for (int i = 1; i <= started; i++)
		pthread_join(th[i], NULL);
	free(th);
}

void tg_pkg_free(tg_pkg *pkg)
{
	for (size_t i = 0; i < pkg->n_w; i++)
		clear_values(&pkg->w[i]);
	free(pkg->w);
	free(pkg->name);
	free(pkg->relpath);
	memset(pkg, 0, sizeof *pkg);
}
