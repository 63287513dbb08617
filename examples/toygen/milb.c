/* Building MIL protobuf messages by hand, the way coremltools encodes them (doc
 * §2.5): every op carries a string `name` attribute, parameters are inputs bound by
 * name, constants are `const` ops. Everything is malloc'ed so that protobuf-c's
 * free_unpacked releases the finished model. */
#include "toygen.h"

#include "core/dtype.h"

#include <stdarg.h>
#include <stdlib.h>

typedef CoreML__Specification__MILSpec__Dimension mil_dim;
typedef CoreML__Specification__MILSpec__Operation__InputsEntry mil_input_entry;
typedef CoreML__Specification__MILSpec__Operation__AttributesEntry mil_attr_entry;
typedef CoreML__Specification__MILSpec__Value__ImmediateValue mil_imm;

void *tg_alloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		tg_die("out of memory (%zu bytes)", n);
	return p;
}

char *tg_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(tg_alloc(n), s, n);
}

char *tg_fmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = tg_alloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

void *tg_grow(void *arr, size_t n, size_t elem)
{
	if (n && (n & (n - 1)))
		return arr; /* capacity is the next power of two: still room */
	void *p = realloc(arr, (n ? 2 * n : 1) * elem);
	if (!p)
		tg_die("out of memory");
	return p;
}

#define PUSH(arr, n, item)                                                                                             \
	do {                                                                                                           \
		(arr) = tg_grow((arr), (n), sizeof *(arr));                                                            \
		(arr)[(n)++] = (item);                                                                                 \
	} while (0)

/* ---- types and values ----------------------------------------------------------- */

mil_value_type *tg_tensor_type(mld_dtype dt, unsigned rank, const int64_t *sh)
{
	mil_tensor_type *t = tg_alloc(sizeof *t);
	core_ml__specification__milspec__tensor_type__init(t);
	t->datatype = (CoreML__Specification__MILSpec__DataType)dt;
	t->rank = rank;
	t->n_dimensions = rank;
	t->dimensions = rank ? tg_alloc(rank * sizeof *t->dimensions) : NULL;
	for (unsigned d = 0; d < rank; d++) {
		mil_dim *dim = tg_alloc(sizeof *dim);
		core_ml__specification__milspec__dimension__init(dim);
		dim->dimension_case = MIL_DIM_CONSTANT;
		dim->constant = tg_alloc(sizeof *dim->constant);
		core_ml__specification__milspec__dimension__constant_dimension__init(dim->constant);
		dim->constant->size = (uint64_t)sh[d];
		t->dimensions[d] = dim;
	}
	mil_value_type *vt = tg_alloc(sizeof *vt);
	core_ml__specification__milspec__value_type__init(vt);
	vt->type_case = MIL_TYPE_TENSOR;
	vt->tensortype = t;
	return vt;
}

mil_value_type *tg_var_type(const tg_var *v) { return tg_tensor_type(v->dt, v->rank, v->sh); }

tg_var tg_shape_var(mld_dtype dt, unsigned rank, const int64_t *sh)
{
	tg_var v = {NULL, dt, rank, {0}};
	if (rank)
		memcpy(v.sh, sh, rank * sizeof *sh);
	return v;
}

static mil_value *imm_value(mil_value_type *vt, mil_tensor_value *tv)
{
	mil_imm *imm = tg_alloc(sizeof *imm);
	core_ml__specification__milspec__value__immediate_value__init(imm);
	imm->value_case = MIL_IMM_TENSOR;
	imm->tensor = tv;
	mil_value *v = tg_alloc(sizeof *v);
	core_ml__specification__milspec__value__init(v);
	v->type = vt;
	v->value_case = MIL_VALUE_IMMEDIATE;
	v->immediatevalue = imm;
	return v;
}

static mil_tensor_value *tensor_value(void)
{
	mil_tensor_value *tv = tg_alloc(sizeof *tv);
	core_ml__specification__milspec__tensor_value__init(tv);
	return tv;
}

mil_value *tg_imm_string(const char *s)
{
	mil_tensor_value *tv = tensor_value();
	tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_STRINGS;
	tv->strings = tg_alloc(sizeof *tv->strings);
	core_ml__specification__milspec__tensor_value__repeated_strings__init(tv->strings);
	tv->strings->n_values = 1;
	tv->strings->values = tg_alloc(sizeof(char *));
	tv->strings->values[0] = tg_strdup(s);
	return imm_value(tg_tensor_type(MLD_DT_STRING, 0, NULL), tv);
}

mil_value *tg_imm_ints(const int32_t *v, unsigned n, bool scalar)
{
	mil_tensor_value *tv = tensor_value();
	tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_INTS;
	tv->ints = tg_alloc(sizeof *tv->ints);
	core_ml__specification__milspec__tensor_value__repeated_ints__init(tv->ints);
	tv->ints->n_values = n;
	tv->ints->values = memcpy(tg_alloc(n * sizeof(int32_t)), v, n * sizeof(int32_t));
	int64_t len = n;
	return imm_value(tg_tensor_type(MLD_DT_INT32, scalar ? 0 : 1, &len), tv);
}

mil_value *tg_imm_bool(bool b)
{
	mil_tensor_value *tv = tensor_value();
	tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BOOLS;
	tv->bools = tg_alloc(sizeof *tv->bools);
	core_ml__specification__milspec__tensor_value__repeated_bools__init(tv->bools);
	tv->bools->n_values = 1;
	tv->bools->values = tg_alloc(sizeof(protobuf_c_boolean));
	tv->bools->values[0] = b;
	return imm_value(tg_tensor_type(MLD_DT_BOOL, 0, NULL), tv);
}

/* fp16 immediates are little-endian bytes (doc §2.5). */
mil_value *tg_imm_fp16(float f)
{
	mil_tensor_value *tv = tensor_value();
	tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BYTES;
	tv->bytes = tg_alloc(sizeof *tv->bytes);
	core_ml__specification__milspec__tensor_value__repeated_bytes__init(tv->bytes);
	tv->bytes->values.len = 2;
	tv->bytes->values.data = tg_alloc(2);
	mld__wr16(tv->bytes->values.data, mld__float_to_half(f));
	return imm_value(tg_tensor_type(MLD_DT_FP16, 0, NULL), tv);
}

mil_value *tg_blob_value(tg_fn *fn, mld_dtype dt, unsigned rank, const int64_t *sh, const uint8_t *data, uint64_t size,
                         uint32_t pad_bits)
{
	mil_value *v = tg_alloc(sizeof *v);
	core_ml__specification__milspec__value__init(v);
	v->type = tg_tensor_type(dt, rank, sh);
	v->value_case = MIL_VALUE_BLOB;
	v->blobfilevalue = tg_alloc(sizeof *v->blobfilevalue);
	core_ml__specification__milspec__value__blob_file_value__init(v->blobfilevalue);
	/* One key per blob, in registration (program) order, as coremltools writes them. */
	mld__blob_item it = {v, 0, fn->n_items, data, size, pad_bits, dt};
	PUSH(fn->items, fn->n_items, it);
	return v;
}

/* ---- operations ------------------------------------------------------------------- */

static void add_attr(mil_op *op, const char *key, mil_value *v)
{
	mil_attr_entry *e = tg_alloc(sizeof *e);
	core_ml__specification__milspec__operation__attributes_entry__init(e);
	e->key = tg_strdup(key);
	e->value = v;
	PUSH(op->attributes, op->n_attributes, e);
}

mil_op *tg_op(tg_fn *fn, const char *type, const char *name)
{
	mil_op *op = tg_alloc(sizeof *op);
	core_ml__specification__milspec__operation__init(op);
	op->type = tg_strdup(type);
	add_attr(op, "name", tg_imm_string(name));
	PUSH(fn->blk->operations, fn->blk->n_operations, op);
	return op;
}

static mil_argument *argument(void)
{
	mil_argument *a = tg_alloc(sizeof *a);
	core_ml__specification__milspec__argument__init(a);
	return a;
}

static mil_binding *binding(void)
{
	mil_binding *b = tg_alloc(sizeof *b);
	core_ml__specification__milspec__argument__binding__init(b);
	return b;
}

static void add_input(mil_op *op, const char *key, mil_argument *a)
{
	mil_input_entry *e = tg_alloc(sizeof *e);
	core_ml__specification__milspec__operation__inputs_entry__init(e);
	e->key = tg_strdup(key);
	e->value = a;
	PUSH(op->inputs, op->n_inputs, e);
}

void tg_in(mil_op *op, const char *key, const char *var)
{
	mil_argument *a = argument();
	mil_binding *b = binding();
	b->binding_case = MIL_BINDING_NAME;
	b->name = tg_strdup(var);
	PUSH(a->arguments, a->n_arguments, b);
	add_input(op, key, a);
}

/* Variadic parameters (concat.values) take one binding per value. */
void tg_in_list(mil_op *op, const char *key, const tg_var *vars, unsigned n)
{
	mil_argument *a = argument();
	for (unsigned i = 0; i < n; i++) {
		mil_binding *b = binding();
		b->binding_case = MIL_BINDING_NAME;
		b->name = tg_strdup(vars[i].name);
		PUSH(a->arguments, a->n_arguments, b);
	}
	add_input(op, key, a);
}

/* iOS18 constexpr parameters are inlined constants (Binding.value), doc §4.1. */
void tg_in_value(mil_op *op, const char *key, mil_value *v)
{
	mil_argument *a = argument();
	mil_binding *b = binding();
	b->binding_case = MIL_BINDING_VALUE;
	b->value = v;
	PUSH(a->arguments, a->n_arguments, b);
	add_input(op, key, a);
}

tg_var tg_out(mil_op *op, const char *name, tg_var like)
{
	mil_named_type *nt = tg_alloc(sizeof *nt);
	core_ml__specification__milspec__named_value_type__init(nt);
	nt->name = tg_strdup(name);
	nt->type = tg_var_type(&like);
	PUSH(op->outputs, op->n_outputs, nt);
	like.name = nt->name;
	return like;
}

void tg_name(tg_fn *fn, char *buf, size_t n, const char *hint) { snprintf(buf, n, "%s_%u", hint, fn->serial++); }

tg_var tg_const(tg_fn *fn, const char *name, mil_value *val, tg_var like)
{
	mil_op *op = tg_op(fn, "const", name);
	add_attr(op, "val", val);
	return tg_out(op, name, like);
}
