/* mldedup-toygen: writes an ANEMLL-style chunked LLaMA-like decoder as CoreML ML
 * Program packages whose weights relate to an anchor in known ways (exact copy,
 * permuted palette, microscopic noise, different), for testing dedup. */
#ifndef TOYGEN_H
#define TOYGEN_H

#include "io/mil.h"
#include "write/pkgwrite.h"

#include <jansson.h>

#define TG_MAX_CTX 16
#define TG_MAX_RANK 6

typedef CoreML__Specification__FeatureDescription tg_feature;

/* ---- parameters (toygen.c) ------------------------------------------------------ */

typedef struct tg_params {
	const char *outdir, *prefix;
	int hidden, inter, layers, chunks, heads, kv_heads, head_dim;
	int lut_bits, group_size, prefill_len, jobs;
	int ctx[TG_MAX_CTX], n_ctx;
	bool ctx_dirs; /* --contexts given: one ctx<N>/ folder per context */
	bool zip, quiet;
	uint64_t seed;
} tg_params;

static inline int tg_layers_per_chunk(const tg_params *p) { return p->layers / p->chunks; }

/* Print "mldedup-toygen: <msg>" to stderr and exit 1 (out of memory, I/O). */
_Noreturn void tg_die(const char *fmt, ...) MLD_PRINTF(1, 2);

/* ---- memory helpers (milb.c): abort via tg_die on failure ------------------------- */

void *tg_alloc(size_t n); /* zeroed */
char *tg_strdup(const char *s);
char *tg_fmt(const char *fmt, ...) MLD_PRINTF(1, 2);
/* Make room for element n of a pointer array grown by powers of two. */
void *tg_grow(void *arr, size_t n, size_t elem);

/* ---- deterministic randomness (rng.c) ----------------------------------------- */

typedef struct tg_rng {
	uint64_t s;
} tg_rng;

uint64_t tg_hash_str(uint64_t h, const char *s);
/* An independent stream for (seed, tag, name, extra): same inputs, same numbers. */
tg_rng tg_rng_for(uint64_t seed, const char *tag, const char *name, uint64_t extra);
uint64_t tg_next(tg_rng *r);
double tg_unit(tg_rng *r);                /* [0, 1) */
double tg_normal(tg_rng *r);              /* approximately N(0, 1) */
uint32_t tg_below(tg_rng *r, uint32_t n); /* [0, n) */

/* ---- palettes (palette.c) ------------------------------------------------------ */

/* A weight (rows, cols) palettized per group of `rows / groups` output rows. */
typedef struct tg_lut {
	uint32_t rows, cols, K, groups;
	unsigned bits;
	uint16_t *lut;   /* groups x K fp16 */
	uint8_t *packed; /* row-major indices, LSB-first at `bits` bits each */
	uint64_t packed_size;
	uint32_t pad_bits;
	bool borrowed; /* lut/packed belong to another tg_lut (exact copies) */
} tg_lut;

void tg_palettize(tg_lut *out, const uint16_t *w, uint32_t rows, uint32_t cols, unsigned bits, unsigned group_size);
/* Same dequantized values, different bytes: palette entries shuffled per group. */
void tg_permute(tg_lut *out, const tg_lut *src, tg_rng *r);
/* `src`'s indices with each palette entry re-fit as the mean of its values in `w`. */
void tg_refit(tg_lut *out, const tg_lut *src, const uint16_t *w);
uint16_t *tg_dequant(const tg_lut *l);
void tg_lut_free(tg_lut *l);

typedef struct tg_diff {
	double cos, mean_abs, max_abs;
	bool identical; /* every value bit-identical */
} tg_diff;
tg_diff tg_compare(const uint16_t *a, const uint16_t *b, uint64_t n);

/* ---- weights and plans (plan.c) ------------------------------------------------ */

typedef enum tg_rel { REL_ANCHOR, REL_EXACT, REL_PERMUTE, REL_MICRO, REL_DIFFERENT, REL_SHAPE } tg_rel;
const char *tg_rel_name(tg_rel r);

typedef enum tg_kind { W_LUT, W_GAMMA, W_ROPE_COS, W_ROPE_SIN } tg_kind;

typedef struct tg_weight {
	char name[96]; /* logical weight, e.g. layers_0_self_attn_q_proj_weight */
	tg_kind kind;
	uint32_t rows, cols; /* LUT: (rows, cols, 1, 1); gamma: (1, rows, 1, 1); rope: (rows, cols) */
	tg_rel rel;
	tg_lut lut;      /* W_LUT */
	uint16_t *dense; /* other kinds */
	bool dense_borrowed;
	tg_diff diff; /* measured against the anchor's copy */
	double noise; /* micro: relative noise actually used */
	bool refit;   /* micro: the anchor's indices with a re-fit palette */
} tg_weight;

typedef struct tg_pkg {
	int chunk;     /* 0-based */
	int ctx_index; /* into params.ctx */
	int ctx, seq;
	bool prefill, anchor;
	char *name;    /* <prefix>_FFN_lut6_chunk_01of02 */
	char *relpath; /* [ctx<N>/]<name>.mlpackage */
	tg_weight *w;
	size_t n_w;
} tg_pkg;

/* The weights of a package in graph order, relations planned (not yet built). */
void tg_plan_package(tg_pkg *pkg, const tg_params *p, const tg_pkg *anchor);
/* Build every weight's data (in parallel); `anchor` is NULL for the anchor itself. */
void tg_build_weights(tg_pkg *pkg, const tg_params *p, const tg_pkg *anchor);
const tg_weight *tg_find_weight(const tg_pkg *pkg, const char *name);
/* Name as `mldedup ls` lists it: the op producing the weight. */
const char *tg_weight_op_name(const tg_weight *w, char *buf, size_t n);
void tg_pkg_free(tg_pkg *pkg);

/* ---- MIL construction (milb.c) --------------------------------------------------- */

typedef struct tg_var {
	const char *name; /* owned by the model */
	mld_dtype dt;
	unsigned rank;
	int64_t sh[TG_MAX_RANK];
} tg_var;

typedef struct tg_fn {
	mil_block *blk;
	unsigned serial; /* suffix for generated names */
	mld__blob_item *items;
	size_t n_items;
} tg_fn;

mil_value_type *tg_tensor_type(mld_dtype dt, unsigned rank, const int64_t *sh);
mil_value_type *tg_var_type(const tg_var *v);
mil_value *tg_imm_string(const char *s);
mil_value *tg_imm_ints(const int32_t *v, unsigned n, bool scalar);
mil_value *tg_imm_bool(bool b);
mil_value *tg_imm_fp16(float f);
/* A blob-stored Value; its bytes are registered as a blob item of `fn`. */
mil_value *tg_blob_value(tg_fn *fn, mld_dtype dt, unsigned rank, const int64_t *sh, const uint8_t *data, uint64_t size,
                         uint32_t pad_bits);

mil_op *tg_op(tg_fn *fn, const char *type, const char *name);
void tg_in(mil_op *op, const char *key, const char *var);
void tg_in_list(mil_op *op, const char *key, const tg_var *vars, unsigned n);
void tg_in_value(mil_op *op, const char *key, mil_value *v);
/* Declare the op's output `name` with the type of `like`; returns the new var. */
tg_var tg_out(mil_op *op, const char *name, tg_var like);
/* A `const` op `name` holding `val` (of the type of `like`). */
tg_var tg_const(tg_fn *fn, const char *name, mil_value *val, tg_var like);
/* A fresh name "<hint>_<n>" into buf. */
void tg_name(tg_fn *fn, char *buf, size_t n, const char *hint);

tg_var tg_shape_var(mld_dtype dt, unsigned rank, const int64_t *sh);

/* ---- graph (graph.c) ------------------------------------------------------------- */

/* Build the `main` function body of one package into `fn`. */
void tg_build_graph(tg_fn *fn, const tg_params *p, const tg_pkg *pkg, const tg_var inputs[5]);

/* ---- packages (model.c, output.c) ------------------------------------------------ */

mil_model *tg_build_model(tg_fn *fn, const tg_params *p, const tg_pkg *pkg);
/* Write one package (and its zip with --zip); exits on failure. */
void tg_write_package(const tg_params *p, const tg_pkg *pkg);
json_t *tg_pkg_json(const tg_params *p, const tg_pkg *pkg, const tg_pkg *anchor);
/* toygen.json (and toygen.tsv: package, anchor, weight, relation); takes both arrays. */
void tg_write_json(const tg_params *p, json_t *packages, json_t *groups);

#endif
