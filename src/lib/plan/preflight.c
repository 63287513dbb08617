/* Preflight: refuse combinations Core ML would choke on, before writing.
 *  - functions meant to share state (infer/prefill of one chunk: names equal once
 *    the leading role word is removed) declare the same states, shapes, dtypes;
 *  - their inputs agree by name (dtype and rank; sequence length may differ) and
 *    they produce the same outputs;
 *  - palette configurations of same-named palettized weights agree. */
#include "../core/dtype.h"
#include "plan.h"

#include <stdlib.h>

typedef CoreML__Specification__FeatureDescription feat;

static const char *role_suffix(const char *name)
{
	static const char *const roles[] = {"infer", "prefill"};
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(roles[i]);
		if (!strncmp(name, roles[i], n) && (name[n] == 0 || name[n] == '_'))
			return name + n;
	}
	return NULL; /* not a role-named function: in no group */
}

static void describe_feature(char *buf, size_t n, const feat *f)
{
	const CoreML__Specification__ArrayFeatureType *a = NULL;
	if (f->type && f->type->type_case == CORE_ML__SPECIFICATION__FEATURE_TYPE__TYPE_MULTI_ARRAY_TYPE)
		a = f->type->multiarraytype;
	else if (f->type && f->type->type_case == CORE_ML__SPECIFICATION__FEATURE_TYPE__TYPE_STATE_TYPE &&
	         f->type->statetype)
		a = f->type->statetype->arraytype;
	if (!a) {
		snprintf(buf, n, "(non-array type)");
		return;
	}
	size_t k = (size_t)snprintf(buf, n, "[");
	for (size_t d = 0; d < a->n_shape && k < n; d++)
		k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? "," : "", (long long)a->shape[d]);
	const char *dt = a->datatype == CORE_ML__SPECIFICATION__ARRAY_DATA_TYPE__FLOAT16   ? "fp16"
	                 : a->datatype == CORE_ML__SPECIFICATION__ARRAY_DATA_TYPE__FLOAT32 ? "fp32"
	                 : a->datatype == CORE_ML__SPECIFICATION__ARRAY_DATA_TYPE__INT32   ? "int32"
	                 : a->datatype == CORE_ML__SPECIFICATION__ARRAY_DATA_TYPE__DOUBLE  ? "fp64"
	                 : a->datatype == CORE_ML__SPECIFICATION__ARRAY_DATA_TYPE__INT8    ? "int8"
	                                                                                   : "?";
	if (k < n)
		snprintf(buf + k, n - k, "] %s", dt);
}

/* Rank and dtype only, for inputs whose sequence length may differ. */
static void kind_of(char *buf, size_t n, const feat *f)
{
	char full[256];
	describe_feature(full, sizeof full, f);
	unsigned rank = full[0] == '[' && full[1] != ']';
	for (const char *p = full; *p && *p != ']'; p++)
		rank += *p == ',';
	const char *dt = strchr(full, ' ');
	snprintf(buf, n, "rank %u %s", rank, dt ? dt + 1 : "?");
}

typedef struct fview {
	size_t n_in, n_out, n_state;
	feat **in, **out, **state;
} fview;

static void view_of(fview *v, const mld_package *pkg, const char *fn)
{
	memset(v, 0, sizeof *v);
	const mil_model_desc *md = pkg->desc;
	if (!md)
		return;
	if (md->n_functions) {
		for (size_t i = 0; i < md->n_functions; i++)
			if (!strcmp(md->functions[i]->name, fn)) {
				const CoreML__Specification__FunctionDescription *d = md->functions[i];
				*v = (fview){d->n_input, d->n_output, d->n_state, d->input, d->output, d->state};
			}
		return;
	}
	*v = (fview){md->n_input, md->n_output, md->n_state, md->input, md->output, md->state};
}

static const feat *find_feat(feat **arr, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(arr[i]->name, name))
			return arr[i];
	return NULL;
}

static int check_pair(cb_ctx *cb, size_t a, size_t b)
{
	fview va, vb;
	const char *na = cb->srcs[a].name, *nb = cb->srcs[b].name;
	view_of(&va, cb->pkgs[cb->srcs[a].pkg], cb->pkgs[cb->srcs[a].pkg]->fns[cb->srcs[a].fn].name);
	view_of(&vb, cb->pkgs[cb->srcs[b].pkg], cb->pkgs[cb->srcs[b].pkg]->fns[cb->srcs[b].fn].name);
	char x[256], y[256];
	for (int pass = 0; pass < 2; pass++) { /* states both ways: a missing one is a mismatch */
		fview *p = pass ? &vb : &va, *q = pass ? &va : &vb;
		const char *np = pass ? nb : na, *nq = pass ? na : nb;
		for (size_t i = 0; i < p->n_state; i++) {
			const feat *o = find_feat(q->state, q->n_state, p->state[i]->name);
			describe_feature(x, sizeof x, p->state[i]);
			if (!o)
				return mld__err(MLD_ERROR,
				                "preflight: function \"%s\" declares state \"%s\" %s, function \"%s\" "
				                "has no such state"
				                " (they share state)",
				                np, p->state[i]->name, x, nq);
			describe_feature(y, sizeof y, o);
			if (strcmp(x, y))
				return mld__err(MLD_ERROR,
				                "preflight: function \"%s\": state \"%s\" is %s, but function \"%s\" "
				                "declares %s"
				                " (they share state)",
				                np, p->state[i]->name, x, nq, y);
		}
	}
	for (size_t i = 0; i < va.n_in; i++) {
		const feat *o = find_feat(vb.in, vb.n_in, va.in[i]->name);
		if (!o)
			continue;
		kind_of(x, sizeof x, va.in[i]);
		kind_of(y, sizeof y, o);
		if (strcmp(x, y))
			return mld__err(MLD_ERROR,
			                "preflight: function \"%s\": input \"%s\" is %s, but function \"%s\" has %s",
			                na, va.in[i]->name, x, nb, y);
	}
	for (int pass = 0; pass < 2; pass++) {
		fview *p = pass ? &vb : &va, *q = pass ? &va : &vb;
		for (size_t i = 0; i < p->n_out; i++)
			if (!find_feat(q->out, q->n_out, p->out[i]->name))
				return mld__err(MLD_ERROR,
				                "preflight: function \"%s\" outputs \"%s\", function \"%s\" does not",
				                pass ? nb : na, p->out[i]->name, pass ? na : nb);
	}
	return 0;
}

static bool is_lut(const cb_weight *w) { return !strncmp(w->layout, "constexpr_lut_to_dense(", 23); }

int cb_preflight(cb_ctx *cb)
{
	for (size_t a = 0; a < cb->n_srcs; a++) {
		const char *sa = role_suffix(cb->srcs[a].name);
		for (size_t b = a + 1; sa && b < cb->n_srcs; b++) {
			const char *sb = role_suffix(cb->srcs[b].name);
			if (sb && !strcmp(sa, sb)) {
				int rc = check_pair(cb, a, b);
				if (rc)
					return rc;
			}
		}
	}
	/* palettes: every later same-stem weight against the anchor's */
	const cb_source *anchor = &cb->srcs[0];
	for (size_t i = anchor->n_weights; i < cb->n_ws; i++) {
		const cb_weight *w = &cb->ws[i];
		if (!is_lut(w))
			continue;
		for (size_t k = 0; k < anchor->n_weights; k++) {
			const cb_weight *o = &cb->ws[anchor->first_weight + k];
			if (strcmp(o->stem, w->stem) || !is_lut(o) || !strcmp(o->layout, w->layout))
				continue;
			if (o->w->rank == w->w->rank &&
			    !memcmp(o->w->shape, w->w->shape, o->w->rank * sizeof *o->w->shape))
				return mld__err(
					MLD_ERROR,
					"preflight: function \"%s\": weight \"%s\" is palettized as %s, but function "
					"\"%s\""
					" uses %s (different palette configurations; --no-preflight to combine anyway)",
					cb->srcs[w->src].name, w->w->name, w->layout, anchor->name, o->layout);
		}
	}
	return 0;
}
