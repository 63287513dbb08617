#define _GNU_SOURCE
#include "testutil.h"

#include "core/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- files ----------------------------------------------------------------------- */

char *tu_tempdir(void)
{
	const char *base = getenv("MLD_UNIT_TMPDIR");
	if (!base || !*base)
		base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	char *t = tu_fmt("%s/mldedup-unit-XXXXXX", base);
	if (!mkdtemp(t))
		fail_msg("mkdtemp %s: %s", t, strerror(errno));
	return t;
}

void tu_rmtree(const char *path)
{
	assert_ok(mld__rmtree(path));
	assert_false(tu_exists(path));
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	uint8_t *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	buf[n] = 0;
	*len = (size_t)n;
	return buf;
}

void tu_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

bool tu_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

int tu_count_entries(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("opendir %s: %s", dir, strerror(errno));
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strstr(e->d_name, needle))
			n++;
	closedir(d);
	return n;
}

char *tu_fmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	return s;
}

/* ---- §3.7: the two-blob file, byte for byte as documented ------------------------- */

/* one line a field, as the format reference lays it out */
/* clang-format off */
const uint8_t tu_example_blobfile[259] = {
	[0x000] = 0x02, 0x00, 0x00, 0x00,                         /* header.count = 2 */
	[0x004] = 0x02, 0x00, 0x00, 0x00,                         /* header.version = 2 */
	                                                          /* 0x008: 56 reserved zeros */
	[0x040] = 0xEF, 0xBE, 0xAD, 0xDE,                         /* A: sentinel */
	[0x044] = 0x01, 0x00, 0x00, 0x00,                         /* A: dtype 1 (Float16) */
	[0x048] = 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* A: sizeInBytes = 8 */
	[0x050] = 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* A: data offset = 128 */
	[0x058] = 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* A: padding bits = 0 */
	                                                          /* 0x060: 32 reserved zeros */
	[0x080] = 0x00, 0x3C, 0x00, 0x40, 0x00, 0xB8, 0x00, 0x00, /* A: data (LE fp16) */
	                                                          /* 0x088: zero fill to 192 */
	[0x0C0] = 0xEF, 0xBE, 0xAD, 0xDE,                         /* B: sentinel */
	[0x0C4] = 0x0B, 0x00, 0x00, 0x00,                         /* B: dtype 11 (UInt4) */
	[0x0C8] = 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* B: sizeInBytes = 3 */
	[0x0D0] = 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* B: data offset = 256 */
	[0x0D8] = 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* B: padding bits = 4 */
	                                                          /* 0x0E0: 32 reserved zeros */
	[0x100] = 0x21, 0xF3, 0x07,                               /* B: data; EOF at 259 */
};
/* clang-format on */
const uint8_t tu_example_fp16_data[8] = {0x00, 0x3C, 0x00, 0x40, 0x00, 0xB8, 0x00, 0x00};
const uint8_t tu_example_uint4_data[3] = {0x21, 0xF3, 0x07};

/* ---- tensors ------------------------------------------------------------------------ */

mld_tensor *tu_tensor(mld_dtype dt, unsigned rank, const uint64_t *shape, const void *data)
{
	static const uint64_t scalar[1] = {1};
	mld_tensor *t = NULL;
	assert_ok(mld__tensor_new(&t, dt, rank, rank ? shape : scalar));
	if (data && t->nbytes)
		memcpy(t->data, data, t->nbytes);
	return t;
}

mld_tensor *tu_fp16(unsigned rank, const uint64_t *shape, const float *vals)
{
	mld_tensor *t = tu_tensor(MLD_DT_FP16, rank, shape, NULL);
	for (uint64_t i = 0; i < t->count; i++) {
		uint16_t h = mld__float_to_half(vals[i]);
		if (mld__half_to_float(h) != vals[i])
			fail_msg("test bug: %g is not exact in fp16", (double)vals[i]);
		mld__wr16((uint8_t *)t->data + 2 * i, h);
	}
	return t;
}

mld_tensor *tu_fp32(unsigned rank, const uint64_t *shape, const float *vals)
{
	return tu_tensor(MLD_DT_FP32, rank, shape, vals);
}

void tu_assert_shape(const mld_tensor *t, mld_dtype dt, unsigned rank, const uint64_t *shape)
{
	assert_non_null(t);
	if (t->dtype != dt)
		fail_msg("dtype %s, expected %s", mld_dtype_name(t->dtype), mld_dtype_name(dt));
	assert_int_equal(t->rank, rank);
	uint64_t n = 1;
	for (unsigned d = 0; d < rank; d++) {
		if (t->shape[d] != shape[d])
			fail_msg("shape[%u] = %llu, expected %llu", d, (unsigned long long)t->shape[d],
			         (unsigned long long)shape[d]);
		n *= shape[d];
	}
	assert_int_equal(t->count, n);
	assert_int_equal(t->nbytes, n * mld_dtype_dense_width(dt));
}

void tu_assert_values(const mld_tensor *t, const double *expect, size_t n)
{
	assert_int_equal(t->count, n);
	for (size_t i = 0; i < n; i++) {
		double v = mld__dense_get(t->dtype, t->data, i);
		if (!(v == expect[i]))
			fail_msg("%s element %zu = %.9g, expected %.9g", mld_dtype_name(t->dtype), i, v, expect[i]);
	}
}

/* ---- arena and protobuf builders ---------------------------------------------------- */

static void **arena;
static size_t arena_n, arena_cap;

void *tu_alloc(size_t n)
{
	if (arena_n == arena_cap) {
		arena_cap = arena_cap ? arena_cap * 2 : 64;
		arena = realloc(arena, arena_cap * sizeof *arena);
		assert_non_null(arena);
	}
	void *p = calloc(1, n ? n : 1);
	assert_non_null(p);
	arena[arena_n++] = p;
	return p;
}

char *tu_str(const char *s)
{
	char *p = tu_alloc(strlen(s) + 1);
	memcpy(p, s, strlen(s) + 1);
	return p;
}

void tu_arena_free(void)
{
	for (size_t i = 0; i < arena_n; i++)
		free(arena[i]);
	free(arena);
	arena = NULL;
	arena_n = arena_cap = 0;
}

#define NEW(T, INIT)                                                                                                   \
	({                                                                                                             \
		T *p_ = tu_alloc(sizeof(T));                                                                           \
		T v_ = INIT;                                                                                           \
		*p_ = v_;                                                                                              \
		p_;                                                                                                    \
	})

mil_value_type *tu_tensor_type(mld_dtype dt, unsigned rank, const uint64_t *shape)
{
	mil_tensor_type *tt = NEW(mil_tensor_type, CORE_ML__SPECIFICATION__MILSPEC__TENSOR_TYPE__INIT);
	tt->datatype = (CoreML__Specification__MILSpec__DataType)dt;
	tt->rank = rank;
	tt->n_dimensions = rank;
	tt->dimensions = tu_alloc(rank * sizeof *tt->dimensions);
	for (unsigned d = 0; d < rank; d++) {
		CoreML__Specification__MILSpec__Dimension *dim = NEW(CoreML__Specification__MILSpec__Dimension,
		                                                     CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__INIT);
		dim->dimension_case = MIL_DIM_CONSTANT;
		dim->constant = NEW(CoreML__Specification__MILSpec__Dimension__ConstantDimension,
		                    CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__CONSTANT_DIMENSION__INIT);
		dim->constant->size = shape[d];
		tt->dimensions[d] = dim;
	}
	mil_value_type *vt = NEW(mil_value_type, CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__INIT);
	vt->type_case = MIL_TYPE_TENSOR;
	vt->tensortype = tt;
	return vt;
}

mil_value *tu_blob_value(mld_dtype dt, unsigned rank, const uint64_t *shape, const char *file, uint64_t offset)
{
	mil_value *v = NEW(mil_value, CORE_ML__SPECIFICATION__MILSPEC__VALUE__INIT);
	v->type = tu_tensor_type(dt, rank, shape);
	v->value_case = MIL_VALUE_BLOB;
	v->blobfilevalue = NEW(CoreML__Specification__MILSpec__Value__BlobFileValue,
	                       CORE_ML__SPECIFICATION__MILSPEC__VALUE__BLOB_FILE_VALUE__INIT);
	v->blobfilevalue->filename = tu_str(file);
	v->blobfilevalue->offset = offset;
	return v;
}

mil_value *tu_string_value(const char *s)
{
	mil_value *v = NEW(mil_value, CORE_ML__SPECIFICATION__MILSPEC__VALUE__INIT);
	v->type = tu_tensor_type(MLD_DT_STRING, 0, NULL);
	v->value_case = MIL_VALUE_IMMEDIATE;
	v->immediatevalue = NEW(CoreML__Specification__MILSpec__Value__ImmediateValue,
	                        CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__INIT);
	v->immediatevalue->value_case = MIL_IMM_TENSOR;
	mil_tensor_value *tv = NEW(mil_tensor_value, CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__INIT);
	tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_STRINGS;
	tv->strings = NEW(CoreML__Specification__MILSpec__TensorValue__RepeatedStrings,
	                  CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_STRINGS__INIT);
	tv->strings->n_values = 1;
	tv->strings->values = tu_alloc(sizeof(char *));
	tv->strings->values[0] = tu_str(s);
	v->immediatevalue->tensor = tv;
	return v;
}

static mil_value *imm_value(mld_dtype dt, unsigned rank, const uint64_t *shape, mil_tensor_value *tv)
{
	mil_value *v = NEW(mil_value, CORE_ML__SPECIFICATION__MILSPEC__VALUE__INIT);
	v->type = tu_tensor_type(dt, rank, shape);
	v->value_case = MIL_VALUE_IMMEDIATE;
	v->immediatevalue = NEW(CoreML__Specification__MILSpec__Value__ImmediateValue,
	                        CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__INIT);
	v->immediatevalue->value_case = MIL_IMM_TENSOR;
	v->immediatevalue->tensor = tv;
	return v;
}

mil_value *tu_imm_bytes(mld_dtype dt, unsigned rank, const uint64_t *shape, const void *bytes, size_t len)
{
	mil_tensor_value *tv = NEW(mil_tensor_value, CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__INIT);
	tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BYTES;
	tv->bytes = NEW(CoreML__Specification__MILSpec__TensorValue__RepeatedBytes,
	                CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_BYTES__INIT);
	tv->bytes->values.len = len;
	tv->bytes->values.data = tu_alloc(len);
	if (len)
		memcpy(tv->bytes->values.data, bytes, len);
	return imm_value(dt, rank, shape, tv);
}

mil_value *tu_imm_floats(mld_dtype dt, unsigned rank, const uint64_t *shape, const float *v, size_t n)
{
	mil_tensor_value *tv = NEW(mil_tensor_value, CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__INIT);
	tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_FLOATS;
	tv->floats = NEW(CoreML__Specification__MILSpec__TensorValue__RepeatedFloats,
	                 CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_FLOATS__INIT);
	tv->floats->n_values = n;
	tv->floats->values = tu_alloc(n * sizeof(float));
	memcpy(tv->floats->values, v, n * sizeof(float));
	return imm_value(dt, rank, shape, tv);
}

mil_value *tu_imm_ints(mld_dtype dt, unsigned rank, const uint64_t *shape, const int32_t *v, size_t n)
{
	mil_tensor_value *tv = NEW(mil_tensor_value, CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__INIT);
	tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_INTS;
	tv->ints = NEW(CoreML__Specification__MILSpec__TensorValue__RepeatedInts,
	               CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_INTS__INIT);
	tv->ints->n_values = n;
	tv->ints->values = tu_alloc(n * sizeof(int32_t));
	memcpy(tv->ints->values, v, n * sizeof(int32_t));
	return imm_value(dt, rank, shape, tv);
}

mil_op *tu_op(const char *type, size_t n_out, const char *const *out_names, mil_value_type *const *out_types)
{
	mil_op *op = NEW(mil_op, CORE_ML__SPECIFICATION__MILSPEC__OPERATION__INIT);
	op->type = tu_str(type);
	op->n_outputs = n_out;
	op->outputs = tu_alloc(n_out * sizeof *op->outputs);
	for (size_t i = 0; i < n_out; i++) {
		op->outputs[i] = NEW(mil_named_type, CORE_ML__SPECIFICATION__MILSPEC__NAMED_VALUE_TYPE__INIT);
		op->outputs[i]->name = tu_str(out_names[i]);
		op->outputs[i]->type = out_types[i];
	}
	tu_op_attr(op, "name", tu_string_value(out_names[0]));
	return op;
}

static void add_input(mil_op *op, const char *key, mil_binding *b)
{
	mil_argument *a = NEW(mil_argument, CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__INIT);
	a->n_arguments = 1;
	a->arguments = tu_alloc(sizeof *a->arguments);
	a->arguments[0] = b;
	CoreML__Specification__MILSpec__Operation__InputsEntry *e =
		NEW(CoreML__Specification__MILSpec__Operation__InputsEntry,
	            CORE_ML__SPECIFICATION__MILSPEC__OPERATION__INPUTS_ENTRY__INIT);
	e->key = tu_str(key);
	e->value = a;
	CoreML__Specification__MILSpec__Operation__InputsEntry **in = tu_alloc((op->n_inputs + 1) * sizeof *in);
	if (op->n_inputs)
		memcpy(in, op->inputs, op->n_inputs * sizeof *in);
	in[op->n_inputs++] = e;
	op->inputs = in;
}

void tu_op_input_value(mil_op *op, const char *key, mil_value *v)
{
	mil_binding *b = NEW(mil_binding, CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__BINDING__INIT);
	b->binding_case = MIL_BINDING_VALUE;
	b->value = v;
	add_input(op, key, b);
}

void tu_op_input_name(mil_op *op, const char *key, const char *name)
{
	mil_binding *b = NEW(mil_binding, CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__BINDING__INIT);
	b->binding_case = MIL_BINDING_NAME;
	b->name = tu_str(name);
	add_input(op, key, b);
}

void tu_op_attr(mil_op *op, const char *key, mil_value *v)
{
	CoreML__Specification__MILSpec__Operation__AttributesEntry *e =
		NEW(CoreML__Specification__MILSpec__Operation__AttributesEntry,
	            CORE_ML__SPECIFICATION__MILSPEC__OPERATION__ATTRIBUTES_ENTRY__INIT);
	e->key = tu_str(key);
	e->value = v;
	CoreML__Specification__MILSpec__Operation__AttributesEntry **at = tu_alloc((op->n_attributes + 1) * sizeof *at);
	if (op->n_attributes)
		memcpy(at, op->attributes, op->n_attributes * sizeof *at);
	at[op->n_attributes++] = e;
	op->attributes = at;
}

mil_op *tu_const_op(const char *name, mil_value *val)
{
	mil_op *op = NEW(mil_op, CORE_ML__SPECIFICATION__MILSPEC__OPERATION__INIT);
	op->type = tu_str("const");
	op->n_attributes = 2;
	op->attributes = tu_alloc(2 * sizeof *op->attributes);
	const char *keys[2] = {"name", "val"};
	mil_value *vals[2] = {tu_string_value(name), val};
	for (int i = 0; i < 2; i++) {
		CoreML__Specification__MILSpec__Operation__AttributesEntry *e =
			NEW(CoreML__Specification__MILSpec__Operation__AttributesEntry,
		            CORE_ML__SPECIFICATION__MILSPEC__OPERATION__ATTRIBUTES_ENTRY__INIT);
		e->key = tu_str(keys[i]);
		e->value = vals[i];
		op->attributes[i] = e;
	}
	op->n_outputs = 1;
	op->outputs = tu_alloc(sizeof *op->outputs);
	op->outputs[0] = NEW(mil_named_type, CORE_ML__SPECIFICATION__MILSPEC__NAMED_VALUE_TYPE__INIT);
	op->outputs[0]->name = tu_str(name);
	op->outputs[0]->type = val->type;
	return op;
}

mil_block *tu_block(mil_op **ops, size_t n_ops, const char *output)
{
	mil_block *b = NEW(mil_block, CORE_ML__SPECIFICATION__MILSPEC__BLOCK__INIT);
	b->n_operations = n_ops;
	b->operations = tu_alloc(n_ops * sizeof *b->operations);
	if (n_ops)
		memcpy(b->operations, ops, n_ops * sizeof *ops);
	if (output) {
		b->n_outputs = 1;
		b->outputs = tu_alloc(sizeof(char *));
		b->outputs[0] = tu_str(output);
	}
	return b;
}

mil_function *tu_function(const char *opset, mil_block *blk)
{
	mil_function *f = NEW(mil_function, CORE_ML__SPECIFICATION__MILSPEC__FUNCTION__INIT);
	f->opset = tu_str(opset);
	f->n_block_specializations = 1;
	f->block_specializations = tu_alloc(sizeof *f->block_specializations);
	CoreML__Specification__MILSpec__Function__BlockSpecializationsEntry *e =
		NEW(CoreML__Specification__MILSpec__Function__BlockSpecializationsEntry,
	            CORE_ML__SPECIFICATION__MILSPEC__FUNCTION__BLOCK_SPECIALIZATIONS_ENTRY__INIT);
	e->key = tu_str(opset);
	e->value = blk;
	f->block_specializations[0] = e;
	return f;
}

mil_model *tu_ml_program(int spec, size_t n, const char *const *names, mil_function **fns)
{
	mil_program *p = NEW(mil_program, CORE_ML__SPECIFICATION__MILSPEC__PROGRAM__INIT);
	p->version = 1;
	p->n_functions = n;
	p->functions = tu_alloc(n * sizeof *p->functions);
	for (size_t i = 0; i < n; i++) {
		CoreML__Specification__MILSpec__Program__FunctionsEntry *e =
			NEW(CoreML__Specification__MILSpec__Program__FunctionsEntry,
		            CORE_ML__SPECIFICATION__MILSPEC__PROGRAM__FUNCTIONS_ENTRY__INIT);
		e->key = tu_str(names[i]);
		e->value = fns[i];
		p->functions[i] = e;
	}
	mil_model_desc *d = NEW(mil_model_desc, CORE_ML__SPECIFICATION__MODEL_DESCRIPTION__INIT);
	if (n > 1) {
		d->n_functions = n;
		d->functions = tu_alloc(n * sizeof *d->functions);
		for (size_t i = 0; i < n; i++) {
			d->functions[i] = NEW(CoreML__Specification__FunctionDescription,
			                      CORE_ML__SPECIFICATION__FUNCTION_DESCRIPTION__INIT);
			d->functions[i]->name = tu_str(names[i]);
		}
		d->defaultfunctionname = tu_str(names[0]);
	}
	mil_model *m = NEW(mil_model, CORE_ML__SPECIFICATION__MODEL__INIT);
	m->specificationversion = spec;
	m->description = d;
	m->type_case = CORE_ML__SPECIFICATION__MODEL__TYPE_ML_PROGRAM;
	m->mlprogram = p;
	return m;
}
