/* The decoder graph of one chunk, in ANEMLL's conv-1x1 layout: activations are
 * (1, channels, 1, S), projections are conv ops with (out, in, 1, 1) weights, the
 * KV cache is a state updated with slice_update. Plausible, not meant to run:
 * what matters is that it is structurally valid MIL (ops in topological order,
 * every input a previously defined name, every output typed). */
#include "toygen.h"

#include <math.h>

#define SH(...) ((const int64_t[]){__VA_ARGS__})
#define NDIM(...) ((unsigned)(sizeof(SH(__VA_ARGS__)) / sizeof(int64_t)))
#define VAR(dt, ...) tg_shape_var(dt, NDIM(__VA_ARGS__), SH(__VA_ARGS__))
#define A32(...) ((const int32_t[]){__VA_ARGS__})
#define I32(...) A32(__VA_ARGS__), NDIM(__VA_ARGS__) /* array, length */

typedef struct gctx {
	tg_fn *fn;
	const tg_pkg *pkg;
	int S, ctx, H, NH, KV, HD, Lc;
	tg_var hs, pos_ids, mask, cur_pos, state;
	tg_var cos, sin; /* rope rows gathered at position_ids: (S, HD) */
	tg_var pos_end;  /* current_pos + S */
} gctx;

/* ---- constants: named "<op>_<param>_0" like coremltools' materialised defaults ---- */

static void pname(char *buf, size_t n, const char *op, const char *param)
{
	if ((size_t)snprintf(buf, n, "%s_%s_0", op, param) >= n)
		buf[n - 1] = 0; /* names are short; a cut one is still unique enough for a toy */
}

static tg_var c_ints(tg_fn *fn, const char *op, const char *param, const int32_t *v, unsigned n)
{
	char name[160];
	int64_t len = n;
	pname(name, sizeof name, op, param);
	return tg_const(fn, name, tg_imm_ints(v, n, false), tg_shape_var(MLD_DT_INT32, 1, &len));
}

static tg_var c_int(tg_fn *fn, const char *op, const char *param, int32_t v)
{
	char name[160];
	pname(name, sizeof name, op, param);
	return tg_const(fn, name, tg_imm_ints(&v, 1, true), tg_shape_var(MLD_DT_INT32, 0, NULL));
}

static tg_var c_bool(tg_fn *fn, const char *op, const char *param, bool b)
{
	char name[160];
	pname(name, sizeof name, op, param);
	return tg_const(fn, name, tg_imm_bool(b), tg_shape_var(MLD_DT_BOOL, 0, NULL));
}

static tg_var c_fp16(tg_fn *fn, const char *op, const char *param, float f)
{
	char name[160];
	pname(name, sizeof name, op, param);
	return tg_const(fn, name, tg_imm_fp16(f), tg_shape_var(MLD_DT_FP16, 0, NULL));
}

static tg_var c_str(tg_fn *fn, const char *op, const char *param, const char *s)
{
	char name[160];
	pname(name, sizeof name, op, param);
	return tg_const(fn, name, tg_imm_string(s), tg_shape_var(MLD_DT_STRING, 0, NULL));
}

/* ---- ordinary ops ------------------------------------------------------------------ */

/* Op name: `fixed` if given, else a fresh "<type>_<n>". */
static void opname(tg_fn *fn, char *buf, size_t n, const char *type, const char *fixed)
{
	if (fixed)
		snprintf(buf, n, "%s", fixed);
	else
		tg_name(fn, buf, n, type);
}

static tg_var broadcast(tg_var a, tg_var b)
{
	tg_var o = a.rank >= b.rank ? a : b;
	for (unsigned i = 0; i < a.rank && i < b.rank; i++) {
		int64_t da = a.sh[a.rank - 1 - i], db = b.sh[b.rank - 1 - i];
		o.sh[o.rank - 1 - i] = da == 1 ? db : da;
	}
	o.dt = a.dt;
	return o;
}

static tg_var binary(gctx *g, const char *type, tg_var x, tg_var y, const char *fixed)
{
	char name[160];
	opname(g->fn, name, sizeof name, type, fixed);
	mil_op *op = tg_op(g->fn, type, name);
	tg_in(op, "x", x.name);
	tg_in(op, "y", y.name);
	return tg_out(op, name, broadcast(x, y));
}

static tg_var unary(gctx *g, const char *type, tg_var x)
{
	char name[160];
	opname(g->fn, name, sizeof name, type, NULL);
	mil_op *op = tg_op(g->fn, type, name);
	tg_in(op, "x", x.name);
	return tg_out(op, name, x);
}

static tg_var transpose(gctx *g, tg_var x, const int32_t *perm, const char *fixed)
{
	char name[160];
	opname(g->fn, name, sizeof name, "transpose", fixed);
	tg_var pv = c_ints(g->fn, name, "perm", perm, x.rank);
	mil_op *op = tg_op(g->fn, "transpose", name);
	tg_in(op, "x", x.name);
	tg_in(op, "perm", pv.name);
	tg_var o = x;
	for (unsigned d = 0; d < x.rank; d++)
		o.sh[d] = x.sh[perm[d]];
	return tg_out(op, name, o);
}

static tg_var reshape(gctx *g, tg_var x, const int32_t *shape, unsigned rank)
{
	char name[160];
	opname(g->fn, name, sizeof name, "reshape", NULL);
	tg_var sv = c_ints(g->fn, name, "shape", shape, rank);
	mil_op *op = tg_op(g->fn, "reshape", name);
	tg_in(op, "x", x.name);
	tg_in(op, "shape", sv.name);
	tg_var o = x;
	o.rank = rank;
	for (unsigned d = 0; d < rank; d++)
		o.sh[d] = shape[d];
	return tg_out(op, name, o);
}

/* expand_dims / squeeze of one axis. */
static tg_var axis_op(gctx *g, const char *type, tg_var x, int axis)
{
	char name[160];
	opname(g->fn, name, sizeof name, type, NULL);
	int32_t ax = axis;
	tg_var av = c_ints(g->fn, name, "axes", &ax, 1);
	mil_op *op = tg_op(g->fn, type, name);
	tg_in(op, "x", x.name);
	tg_in(op, "axes", av.name);
	tg_var o = x;
	if (!strcmp(type, "expand_dims")) {
		o.rank++;
		for (int d = (int)o.rank - 1; d > axis; d--)
			o.sh[d] = o.sh[d - 1];
		o.sh[axis] = 1;
	} else {
		for (unsigned d = (unsigned)axis; d + 1 < o.rank; d++)
			o.sh[d] = o.sh[d + 1];
		o.rank--;
	}
	return tg_out(op, name, o);
}

static tg_var reduce_mean(gctx *g, tg_var x, int axis)
{
	char name[160];
	opname(g->fn, name, sizeof name, "reduce_mean", NULL);
	int32_t ax = axis;
	tg_var av = c_ints(g->fn, name, "axes", &ax, 1);
	tg_var kv = c_bool(g->fn, name, "keep_dims", true);
	mil_op *op = tg_op(g->fn, "reduce_mean", name);
	tg_in(op, "x", x.name);
	tg_in(op, "axes", av.name);
	tg_in(op, "keep_dims", kv.name);
	tg_var o = x;
	o.sh[axis] = 1;
	return tg_out(op, name, o);
}

static tg_var rsqrt(gctx *g, tg_var x, float eps)
{
	char name[160];
	opname(g->fn, name, sizeof name, "rsqrt", NULL);
	tg_var ev = c_fp16(g->fn, name, "epsilon", eps);
	mil_op *op = tg_op(g->fn, "rsqrt", name);
	tg_in(op, "x", x.name);
	tg_in(op, "epsilon", ev.name);
	return tg_out(op, name, x);
}

static tg_var softmax(gctx *g, tg_var x)
{
	char name[160];
	opname(g->fn, name, sizeof name, "softmax", NULL);
	tg_var av = c_int(g->fn, name, "axis", -1);
	mil_op *op = tg_op(g->fn, "softmax", name);
	tg_in(op, "x", x.name);
	tg_in(op, "axis", av.name);
	return tg_out(op, name, x);
}

static tg_var matmul(gctx *g, tg_var x, tg_var y, bool transpose_y)
{
	char name[160];
	opname(g->fn, name, sizeof name, "matmul", NULL);
	tg_var tx = c_bool(g->fn, name, "transpose_x", false);
	tg_var ty = c_bool(g->fn, name, "transpose_y", transpose_y);
	mil_op *op = tg_op(g->fn, "matmul", name);
	tg_in(op, "x", x.name);
	tg_in(op, "y", y.name);
	tg_in(op, "transpose_x", tx.name);
	tg_in(op, "transpose_y", ty.name);
	tg_var o = x;
	o.sh[x.rank - 1] = transpose_y ? y.sh[y.rank - 2] : y.sh[y.rank - 1];
	return tg_out(op, name, o);
}

static tg_var slice(gctx *g, tg_var x, const int32_t *begin, const int32_t *end)
{
	char name[160];
	opname(g->fn, name, sizeof name, "slice_by_index", NULL);
	tg_var bv = c_ints(g->fn, name, "begin", begin, x.rank);
	tg_var ev = c_ints(g->fn, name, "end", end, x.rank);
	mil_op *op = tg_op(g->fn, "slice_by_index", name);
	tg_in(op, "x", x.name);
	tg_in(op, "begin", bv.name);
	tg_in(op, "end", ev.name);
	tg_var o = x;
	for (unsigned d = 0; d < x.rank; d++)
		o.sh[d] = end[d] - begin[d];
	return tg_out(op, name, o);
}

static tg_var concat(gctx *g, const tg_var *vals, unsigned n, int axis)
{
	char name[160];
	opname(g->fn, name, sizeof name, "concat", NULL);
	tg_var av = c_int(g->fn, name, "axis", axis);
	tg_var iv = c_bool(g->fn, name, "interleave", false);
	mil_op *op = tg_op(g->fn, "concat", name);
	tg_in_list(op, "values", vals, n);
	tg_in(op, "axis", av.name);
	tg_in(op, "interleave", iv.name);
	tg_var o = vals[0];
	unsigned ax = (unsigned)(axis < 0 ? axis + (int)o.rank : axis);
	for (unsigned i = 1; i < n; i++)
		o.sh[ax] += vals[i].sh[ax];
	return tg_out(op, name, o);
}

/* Rows of a (N, D) table at int32 indices (S,) -> (S, D). */
static tg_var gather_rows(gctx *g, tg_var table, tg_var indices)
{
	char name[160];
	opname(g->fn, name, sizeof name, "gather", NULL);
	tg_var av = c_int(g->fn, name, "axis", 0);
	tg_var bv = c_int(g->fn, name, "batch_dims", 0);
	tg_var vv = c_bool(g->fn, name, "validate_indices", false);
	mil_op *op = tg_op(g->fn, "gather", name);
	tg_in(op, "x", table.name);
	tg_in(op, "indices", indices.name);
	tg_in(op, "axis", av.name);
	tg_in(op, "batch_dims", bv.name);
	tg_in(op, "validate_indices", vv.name);
	return tg_out(op, name, VAR(table.dt, indices.sh[0], table.sh[1]));
}

static tg_var tile(gctx *g, tg_var x, const int32_t *reps)
{
	char name[160];
	opname(g->fn, name, sizeof name, "tile", NULL);
	tg_var rv = c_ints(g->fn, name, "reps", reps, x.rank);
	mil_op *op = tg_op(g->fn, "tile", name);
	tg_in(op, "x", x.name);
	tg_in(op, "reps", rv.name);
	tg_var o = x;
	for (unsigned d = 0; d < x.rank; d++)
		o.sh[d] *= reps[d];
	return tg_out(op, name, o);
}

/* 1x1 conv: (1, in, 1, S) x (out, in, 1, 1) -> (1, out, 1, S). */
static tg_var conv(gctx *g, const char *name, tg_var x, tg_var w)
{
	tg_var sv = c_ints(g->fn, name, "strides", I32(1, 1));
	tg_var tv = c_str(g->fn, name, "pad_type", "valid");
	tg_var pv = c_ints(g->fn, name, "pad", I32(0, 0, 0, 0));
	tg_var dv = c_ints(g->fn, name, "dilations", I32(1, 1));
	tg_var gv = c_int(g->fn, name, "groups", 1);
	mil_op *op = tg_op(g->fn, "conv", name);
	tg_in(op, "x", x.name);
	tg_in(op, "weight", w.name);
	tg_in(op, "strides", sv.name);
	tg_in(op, "pad_type", tv.name);
	tg_in(op, "pad", pv.name);
	tg_in(op, "dilations", dv.name);
	tg_in(op, "groups", gv.name);
	return tg_out(op, name, VAR(x.dt, 1, w.sh[0], 1, x.sh[3]));
}

/* ---- state ops ----------------------------------------------------------------------- */

static tg_var read_state(gctx *g)
{
	char name[160];
	opname(g->fn, name, sizeof name, "read_state", NULL);
	mil_op *op = tg_op(g->fn, "read_state", name);
	tg_in(op, "input", g->state.name);
	return tg_out(op, name, g->state);
}

static void write_state(gctx *g, tg_var data)
{
	char name[160];
	opname(g->fn, name, sizeof name, "coreml_update_state_write_state", NULL);
	mil_op *op = tg_op(g->fn, "write_state", name);
	tg_in(op, "input", g->state.name);
	tg_in(op, "data", data.name);
}

/* Write `upd` (1, KV, S, HD) at cache[slot, :, current_pos:current_pos+S, :]. */
static tg_var cache_put(gctx *g, tg_var cache, tg_var upd, int slot)
{
	char name[160];
	opname(g->fn, name, sizeof name, "slice_update", NULL);
	tg_var b[3], e[3]; /* one statement per op: C leaves initializer order unspecified */
	b[0] = c_ints(g->fn, name, "begin_lead", I32(slot, 0));
	b[1] = g->cur_pos;
	b[2] = c_ints(g->fn, name, "begin_tail", I32(0));
	tg_var begin = concat(g, b, 3, 0);
	e[0] = c_ints(g->fn, name, "end_lead", I32(slot + 1, g->KV));
	e[1] = g->pos_end;
	e[2] = c_ints(g->fn, name, "end_tail", I32(g->HD));
	tg_var end = concat(g, e, 3, 0);
	mil_op *op = tg_op(g->fn, "slice_update", name);
	tg_in(op, "x", cache.name);
	tg_in(op, "update", upd.name);
	tg_in(op, "begin", begin.name);
	tg_in(op, "end", end.name);
	return tg_out(op, name, cache);
}

/* ---- weights ------------------------------------------------------------------------- */

static mld_dtype index_dtype(unsigned bits)
{
	switch (bits) {
	case 1: return MLD_DT_UINT1;
	case 2: return MLD_DT_UINT2;
	case 3: return MLD_DT_UINT3;
	case 4: return MLD_DT_UINT4;
	case 6: return MLD_DT_UINT6;
	default: return MLD_DT_UINT8;
	}
}

/* iOS18 constexpr_lut_to_dense, LUT (groups, 1, 1, 1, K, 1) along the output axis. */
static tg_var emit_lut(tg_fn *fn, const tg_weight *w)
{
	const tg_lut *l = &w->lut;
	char name[160];
	snprintf(name, sizeof name, "%s_palettized", w->name);
	const int64_t ish[4] = {l->rows, l->cols, 1, 1}, lsh[6] = {l->groups, 1, 1, 1, l->K, 1};
	mil_op *op = tg_op(fn, "constexpr_lut_to_dense", name);
	tg_in_value(op, "indices",
	            tg_blob_value(fn, index_dtype(l->bits), 4, ish, l->packed, l->packed_size, l->pad_bits));
	tg_in_value(op, "lut",
	            tg_blob_value(fn, MLD_DT_FP16, 6, lsh, (const uint8_t *)l->lut, (uint64_t)l->groups * l->K * 2, 0));
	return tg_out(op, name, tg_shape_var(MLD_DT_FP16, 4, ish));
}

static tg_var emit_dense(tg_fn *fn, const tg_weight *w)
{
	tg_var v = w->kind == W_GAMMA ? VAR(MLD_DT_FP16, 1, w->rows, 1, 1) : VAR(MLD_DT_FP16, w->rows, w->cols);
	mil_value *val = tg_blob_value(fn, MLD_DT_FP16, v.rank, v.sh, (const uint8_t *)w->dense,
	                               (uint64_t)w->rows * w->cols * 2, 0);
	return tg_const(fn, w->name, val, v);
}

/* The op producing weight `name`, emitted just before its first use. */
static tg_var weight(gctx *g, const char *name)
{
	const tg_weight *w = tg_find_weight(g->pkg, name);
	if (!w)
		tg_die("internal error: package %s has no weight %s", g->pkg->name, name);
	return w->kind == W_LUT ? emit_lut(g->fn, w) : emit_dense(g->fn, w);
}

/* ---- blocks of the decoder ----------------------------------------------------------- */

static tg_var rms_norm(gctx *g, tg_var x, const char *gamma, const char *out)
{
	tg_var r = rsqrt(g, reduce_mean(g, binary(g, "mul", x, x, NULL), 1), 1e-5f);
	tg_var n = binary(g, "mul", x, r, NULL);
	return binary(g, "mul", n, weight(g, gamma), out);
}

static tg_var proj(gctx *g, tg_var x, int layer, const char *which)
{
	char wname[96], cname[96];
	snprintf(wname, sizeof wname, "layers_%d_%s_weight", layer, which);
	snprintf(cname, sizeof cname, "layers_%d_%s", layer, which);
	return conv(g, cname, x, weight(g, wname));
}

/* (1, N*HD, 1, S) -> (1, N, S, HD). */
static tg_var split_heads(gctx *g, tg_var x, int n)
{
	tg_var r = reshape(g, x, I32(1, n, g->HD, g->S));
	return transpose(g, r, (const int32_t[]){0, 1, 3, 2}, NULL);
}

/* x * cos + rotate_half(x) * sin, rotate_half(x) = concat(-x2, x1). */
static tg_var rope(gctx *g, tg_var x)
{
	int n = (int)x.sh[1], h = g->HD / 2;
	tg_var x1 = slice(g, x, A32(0, 0, 0, 0), (const int32_t[]){1, n, g->S, h});
	tg_var x2 = slice(g, x, (const int32_t[]){0, 0, 0, h}, (const int32_t[]){1, n, g->S, g->HD});
	char name[160];
	opname(g->fn, name, sizeof name, "mul", NULL);
	tg_var neg = binary(g, "mul", x2, c_fp16(g->fn, name, "y", -1.0f), name);
	tg_var parts[2] = {neg, x1};
	tg_var rot = concat(g, parts, 2, -1);
	tg_var xc = binary(g, "mul", x, g->cos, NULL);
	tg_var rs = binary(g, "mul", rot, g->sin, NULL);
	return binary(g, "add", xc, rs, NULL);
}

/* This layer's K or V rows of the cache, repeated for grouped-query attention. */
static tg_var cache_rows(gctx *g, tg_var cache, int slot)
{
	tg_var s = slice(g, cache, A32(slot, 0, 0, 0), (const int32_t[]){slot + 1, g->KV, g->ctx, g->HD});
	return g->NH == g->KV ? s : tile(g, s, (const int32_t[]){1, g->NH / g->KV, 1, 1});
}

static tg_var attention(gctx *g, tg_var q, tg_var k, tg_var v, int li)
{
	tg_var c = read_state(g);
	c = cache_put(g, c, k, li);
	c = cache_put(g, c, v, g->Lc + li);
	write_state(g, c);
	c = read_state(g);
	tg_var kc = cache_rows(g, c, li), vc = cache_rows(g, c, g->Lc + li);
	char name[160];
	tg_var s = matmul(g, q, kc, true);
	opname(g->fn, name, sizeof name, "mul", NULL);
	s = binary(g, "mul", s, c_fp16(g->fn, name, "y", 1.0f / sqrtf((float)g->HD)), name);
	tg_var p = softmax(g, binary(g, "add", s, g->mask, NULL));
	tg_var o = transpose(g, matmul(g, p, vc, false), (const int32_t[]){0, 1, 3, 2}, NULL);
	return reshape(g, o, I32(1, g->NH * g->HD, 1, g->S));
}

static tg_var layer(gctx *g, tg_var x, int gl, int li)
{
	char gname[96], nname[96];
	snprintf(gname, sizeof gname, "layers_%d_input_layernorm_weight", gl);
	snprintf(nname, sizeof nname, "layers_%d_input_layernorm", gl);
	tg_var h = rms_norm(g, x, gname, nname);
	tg_var q = rope(g, split_heads(g, proj(g, h, gl, "self_attn_q_proj"), g->NH));
	tg_var k = rope(g, split_heads(g, proj(g, h, gl, "self_attn_k_proj"), g->KV));
	tg_var v = split_heads(g, proj(g, h, gl, "self_attn_v_proj"), g->KV);
	x = binary(g, "add", x, proj(g, attention(g, q, k, v, li), gl, "self_attn_o_proj"), NULL);
	snprintf(gname, sizeof gname, "layers_%d_post_attention_layernorm_weight", gl);
	snprintf(nname, sizeof nname, "layers_%d_post_attention_layernorm", gl);
	h = rms_norm(g, x, gname, nname);
	tg_var gate = proj(g, h, gl, "mlp_gate_proj"), up = proj(g, h, gl, "mlp_up_proj");
	tg_var m = binary(g, "mul", unary(g, "silu", gate), up, NULL);
	return binary(g, "add", x, proj(g, m, gl, "mlp_down_proj"), NULL);
}

void tg_build_graph(tg_fn *fn, const tg_params *p, const tg_pkg *pkg, const tg_var in[5])
{
	gctx g = {
		fn,    pkg,   pkg->seq, pkg->ctx, p->hidden, p->heads, p->kv_heads, p->head_dim, tg_layers_per_chunk(p),
		in[0], in[1], in[2],    in[3],    in[4],     {0},      {0},         {0}};
	tg_var x = transpose(&g, g.hs, (const int32_t[]){0, 2, 1}, NULL);
	x = axis_op(&g, "expand_dims", x, 2);
	g.cos = gather_rows(&g, weight(&g, "rope_cos"), g.pos_ids);
	g.sin = gather_rows(&g, weight(&g, "rope_sin"), g.pos_ids);
	char name[160];
	opname(fn, name, sizeof name, "add", NULL);
	g.pos_end = binary(&g, "add", g.cur_pos, c_int(fn, name, "y", g.S), name);
	for (int li = 0; li < g.Lc; li++)
		x = layer(&g, x, pkg->chunk * g.Lc + li, li);
	if (pkg->chunk == p->chunks - 1)
		x = rms_norm(&g, x, "model_norm_weight", "model_norm");
	x = axis_op(&g, "squeeze", x, 2);
	x = transpose(&g, x, (const int32_t[]){0, 2, 1}, "output_hidden_states");
	fn->blk->n_outputs = 1;
	fn->blk->outputs = tg_alloc(sizeof(char *));
	fn->blk->outputs[0] = tg_strdup(x.name);
}
