/* The Model around the graph: spec 9 single-function ML Program (`main`, opset
 * CoreML8) with the ANEMLL interface as MIL inputs and as ModelDescription
 * features, the KV cache as a state (doc §2.3: stateType, FLOAT16, fixed shape). */
#include "toygen.h"

typedef CoreML__Specification__ArrayFeatureType tg_array_type;
typedef CoreML__Specification__FeatureType tg_feature_type;
typedef CoreML__Specification__MILSpec__Function__BlockSpecializationsEntry tg_block_entry;
typedef CoreML__Specification__MILSpec__Program__FunctionsEntry tg_fn_entry;
typedef CoreML__Specification__Metadata__UserDefinedEntry tg_meta_entry;

#define OPSET "CoreML8"

static tg_array_type *array_type(mld_dtype dt, const tg_var *v)
{
	tg_array_type *a = tg_alloc(sizeof *a);
	core_ml__specification__array_feature_type__init(a);
	a->datatype = dt == MLD_DT_INT32 ? CORE_ML__SPECIFICATION__ARRAY_DATA_TYPE__INT32
	                                 : CORE_ML__SPECIFICATION__ARRAY_DATA_TYPE__FLOAT16;
	a->n_shape = v->rank;
	a->shape = tg_alloc(v->rank * sizeof *a->shape);
	memcpy(a->shape, v->sh, v->rank * sizeof *a->shape);
	return a;
}

static tg_feature *feature(const tg_var *v, bool state)
{
	tg_feature_type *ft = tg_alloc(sizeof *ft);
	core_ml__specification__feature_type__init(ft);
	if (state) {
		ft->type_case = CORE_ML__SPECIFICATION__FEATURE_TYPE__TYPE_STATE_TYPE;
		ft->statetype = tg_alloc(sizeof *ft->statetype);
		core_ml__specification__state_feature_type__init(ft->statetype);
		ft->statetype->type_case = CORE_ML__SPECIFICATION__STATE_FEATURE_TYPE__TYPE_ARRAY_TYPE;
		ft->statetype->arraytype = array_type(v->dt, v);
	} else {
		ft->type_case = CORE_ML__SPECIFICATION__FEATURE_TYPE__TYPE_MULTI_ARRAY_TYPE;
		ft->multiarraytype = array_type(v->dt, v);
	}
	tg_feature *f = tg_alloc(sizeof *f);
	core_ml__specification__feature_description__init(f);
	f->name = tg_strdup(v->name);
	f->type = ft;
	return f;
}

/* A MIL function input; the state is a StateType wrapping its tensor type. */
static mil_named_type *fn_input(const tg_var *v, bool state)
{
	mil_named_type *nt = tg_alloc(sizeof *nt);
	core_ml__specification__milspec__named_value_type__init(nt);
	nt->name = tg_strdup(v->name);
	nt->type = tg_var_type(v);
	if (state) {
		mil_value_type *vt = tg_alloc(sizeof *vt);
		core_ml__specification__milspec__value_type__init(vt);
		vt->type_case = CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__TYPE_STATE_TYPE;
		vt->statetype = tg_alloc(sizeof *vt->statetype);
		core_ml__specification__milspec__state_type__init(vt->statetype);
		vt->statetype->wrappedtype = nt->type;
		nt->type = vt;
	}
	return nt;
}

static void add_meta(CoreML__Specification__Metadata *m, const char *key, char *value)
{
	tg_meta_entry *e = tg_alloc(sizeof *e);
	core_ml__specification__metadata__user_defined_entry__init(e);
	e->key = tg_strdup(key);
	e->value = value;
	m->userdefined = tg_grow(m->userdefined, m->n_userdefined, sizeof *m->userdefined);
	m->userdefined[m->n_userdefined++] = e;
}

static CoreML__Specification__Metadata *metadata(const tg_params *p, const tg_pkg *pkg)
{
	CoreML__Specification__Metadata *m = tg_alloc(sizeof *m);
	core_ml__specification__metadata__init(m);
	m->author = tg_strdup("mldedup-toygen");
	m->shortdescription = tg_fmt("Toy LLaMA-like decoder, chunk %d of %d, %s, context %d", pkg->chunk + 1,
	                             p->chunks, pkg->prefill ? "prefill" : "infer", pkg->ctx);
	add_meta(m, "mldedup.toygen.context_length", tg_fmt("%d", pkg->ctx));
	add_meta(m, "mldedup.toygen.seq_len", tg_fmt("%d", pkg->seq));
	add_meta(m, "mldedup.toygen.lut_bits", tg_fmt("%d", p->lut_bits));
	add_meta(m, "mldedup.toygen.seed", tg_fmt("%llu", (unsigned long long)p->seed));
	return m;
}

static mil_function *function(tg_fn *fn, const tg_var *in, unsigned n_in)
{
	mil_function *f = tg_alloc(sizeof *f);
	core_ml__specification__milspec__function__init(f);
	f->n_inputs = n_in;
	f->inputs = tg_alloc(n_in * sizeof *f->inputs);
	for (unsigned i = 0; i < n_in; i++)
		f->inputs[i] = fn_input(&in[i], i == n_in - 1);
	f->opset = tg_strdup(OPSET);
	tg_block_entry *be = tg_alloc(sizeof *be);
	core_ml__specification__milspec__function__block_specializations_entry__init(be);
	be->key = tg_strdup(OPSET);
	be->value = fn->blk;
	f->n_block_specializations = 1;
	f->block_specializations = tg_alloc(sizeof *f->block_specializations);
	f->block_specializations[0] = be;
	return f;
}

static mil_program *program(mil_function *f)
{
	mil_program *prog = tg_alloc(sizeof *prog);
	core_ml__specification__milspec__program__init(prog);
	prog->version = 1;
	tg_fn_entry *fe = tg_alloc(sizeof *fe);
	core_ml__specification__milspec__program__functions_entry__init(fe);
	fe->key = tg_strdup("main");
	fe->value = f;
	prog->n_functions = 1;
	prog->functions = tg_alloc(sizeof *prog->functions);
	prog->functions[0] = fe;
	return prog;
}

static mil_model_desc *description(const tg_params *p, const tg_pkg *pkg, const tg_var *in, const tg_var *out)
{
	mil_model_desc *d = tg_alloc(sizeof *d);
	core_ml__specification__model_description__init(d);
	d->n_input = 4;
	d->input = tg_alloc(4 * sizeof *d->input);
	for (int i = 0; i < 4; i++)
		d->input[i] = feature(&in[i], false);
	d->n_output = 1;
	d->output = tg_alloc(sizeof *d->output);
	d->output[0] = feature(out, false);
	d->n_state = 1;
	d->state = tg_alloc(sizeof *d->state);
	d->state[0] = feature(&in[4], true);
	d->metadata = metadata(p, pkg);
	return d;
}

mil_model *tg_build_model(tg_fn *fn, const tg_params *p, const tg_pkg *pkg)
{
	int64_t S = pkg->seq, H = p->hidden, C = pkg->ctx;
	int64_t st[4] = {2 * tg_layers_per_chunk(p), p->kv_heads, C, p->head_dim};
	tg_var in[5] = {
		tg_shape_var(MLD_DT_FP16, 3, (const int64_t[]){1, S, H}),
		tg_shape_var(MLD_DT_INT32, 1, &S),
		tg_shape_var(MLD_DT_FP16, 4, (const int64_t[]){1, 1, S, C}),
		tg_shape_var(MLD_DT_INT32, 1, (const int64_t[]){1}),
		tg_shape_var(MLD_DT_FP16, 4, st),
	};
	static const char *const names[5] = {"hidden_states", "position_ids", "causal_mask", "current_pos",
	                                     "model_model_kv_cache_0"};
	tg_var out = tg_shape_var(MLD_DT_FP16, 3, (const int64_t[]){1, S, H});
	out.name = "output_hidden_states";
	for (int i = 0; i < 5; i++)
		in[i].name = names[i];
	fn->blk = tg_alloc(sizeof *fn->blk);
	core_ml__specification__milspec__block__init(fn->blk);
	tg_build_graph(fn, p, pkg, in);

	mil_model *m = tg_alloc(sizeof *m);
	core_ml__specification__model__init(m);
	m->specificationversion = 9; /* iOS18: states, iOS18 constexpr ops, sub-byte blobs */
	m->description = description(p, pkg, in, &out);
	m->type_case = CORE_ML__SPECIFICATION__MODEL__TYPE_ML_PROGRAM;
	m->mlprogram = program(function(fn, in, 5));
	return m;
}
