#include "mil.h"

#include "../core/arena.h"
#include "../core/dtype.h"

#include <stdlib.h>

/* A varint at *p (at most 10 bytes); false if it runs past end or is too long. */
static bool rd_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		x |= shift < 64 ? (uint64_t)(b & 0x7f) << shift : 0;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

int mil_proto_depth(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len, unsigned max_depth,
                    unsigned *depth)
{
	/* One frame per open sub-message: its descriptor and where its bytes end. The
	 * stack has max_depth + 1 frames, so it is bounded however deep the input goes. */
	typedef struct frame {
		const ProtobufCMessageDescriptor *desc;
		const uint8_t *end;
	} frame;
	frame stackbuf[32], *st = max_depth < 32 ? stackbuf : malloc(((size_t)max_depth + 1) * sizeof *st);
	if (!st)
		return -1;
	unsigned top = 0, deepest = 0;
	int rc = 0;
	const uint8_t *p = buf;
	st[0] = (frame){desc, buf + len};
	for (;;) {
		while (p == st[top].end && top > 0)
			top--;
		if (p == st[top].end)
			break; /* the root's end */
		uint64_t tag, n;
		if (!rd_varint(&p, st[top].end, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) {
			rc = -1;
			break;
		}
		const uint8_t *end = st[top].end;
		switch (tag & 7) {
		case 0: /* varint */
			if (!rd_varint(&p, end, &n))
				rc = -1;
			break;
		case 1: /* fixed64 */
			if (end - p < 8)
				rc = -1;
			else
				p += 8;
			break;
		case 5: /* fixed32 */
			if (end - p < 4)
				rc = -1;
			else
				p += 4;
			break;
		case 2: { /* length-delimited: a sub-message where the schema says so */
			if (!rd_varint(&p, end, &n) || n > (uint64_t)(end - p)) {
				rc = -1;
				break;
			}
			const ProtobufCFieldDescriptor *f =
				st[top].desc
					? protobuf_c_message_descriptor_get_field(st[top].desc, (unsigned)(tag >> 3))
					: NULL;
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && n > 0) {
				if (top + 1 > max_depth) {
					rc = 1;
					deepest = max_depth + 1;
					break;
				}
				st[++top] = (frame){f->descriptor, p + n};
				if (top > deepest)
					deepest = top;
			} else {
				if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && top + 1 > deepest)
					deepest = top + 1; /* an empty sub-message still counts as a level */
				p += n;
			}
			break;
		}
		default: /* groups: protobuf-c refuses them */ rc = -1;
		}
		if (rc)
			break;
	}
	if (st != stackbuf)
		free(st);
	*depth = deepest;
	return rc;
}

int mil_unpack(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
               const char *what, const char *kind)
{
	return mil_unpack_with(out, desc, NULL, buf, len, what, kind);
}

int mil_unpack_with(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc, ProtobufCAllocator *al,
                    const uint8_t *buf, size_t len, const char *what, const char *kind)
{
	unsigned depth;
	int scan = mil_proto_depth(desc, buf, len, MLD_PROTO_MAX_DEPTH, &depth);
	if (scan == 1)
		return mld__err(MLD_EFORMAT,
		                "%s: protobuf messages nested more than %d deep (refused before parsing:"
		                " no CoreML model nests that deep)",
		                what, MLD_PROTO_MAX_DEPTH);
	/* Not a wire stream. protobuf-c would refuse it too, except a field number 0 (or
	 * above 2^29) in a non-minimal tag, which it keeps as an unknown field and then
	 * writes in a form it refuses to read back. */
	*out = scan ? NULL : protobuf_c_message_unpack(desc, al, len, buf);
	if (!*out)
		return mld__err(MLD_EFORMAT, "%s: corrupt protobuf: not a %s message (%zu bytes)", what,
		                kind ? kind : desc->name, len);
	return 0;
}

int mil_model_unpack(mil_model **out, const uint8_t *buf, size_t len, const char *what)
{
	return mil_unpack((ProtobufCMessage **)out, &core_ml__specification__model__descriptor, buf, len, what,
	                  "CoreML Model");
}

const mil_block *mil_function_block(const mil_function *fn)
{
	for (size_t i = 0; i < fn->n_block_specializations; i++)
		if (!strcmp(fn->block_specializations[i]->key, fn->opset))
			return fn->block_specializations[i]->value;
	return NULL;
}

const mil_value *mil_op_attr(const mil_op *op, const char *key)
{
	for (size_t i = 0; i < op->n_attributes; i++)
		if (!strcmp(op->attributes[i]->key, key))
			return op->attributes[i]->value;
	return NULL;
}

size_t mil_op_params(const mil_op *op, const mil_value **vals, const char **names)
{
	size_t n = 0;
	for (size_t i = 0; i < op->n_attributes && n < MIL_MAX_PARAMS; i++)
		if (strcmp(op->attributes[i]->key, "name") && op->attributes[i]->value) {
			names[n] = op->attributes[i]->key;
			vals[n++] = op->attributes[i]->value;
		}
	for (size_t i = 0; i < op->n_inputs && n < MIL_MAX_PARAMS; i++) {
		const mil_argument *a = op->inputs[i]->value;
		if (a && a->n_arguments == 1 && a->arguments[0]->binding_case == MIL_BINDING_VALUE) {
			names[n] = op->inputs[i]->key;
			vals[n++] = a->arguments[0]->value;
		}
	}
	for (size_t x = 1; x < n; x++) /* insertion sort: a handful of parameters */
		for (size_t y = x; y > 0 && strcmp(names[y - 1], names[y]) > 0; y--) {
			const char *tn = names[y];
			const mil_value *tv = vals[y];
			names[y] = names[y - 1], vals[y] = vals[y - 1];
			names[y - 1] = tn, vals[y - 1] = tv;
		}
	return n;
}

const mil_binding *mil_op_input(const mil_op *op, const char *key)
{
	for (size_t i = 0; i < op->n_inputs; i++)
		if (!strcmp(op->inputs[i]->key, key)) {
			const mil_argument *a = op->inputs[i]->value;
			return a && a->n_arguments == 1 ? a->arguments[0] : NULL;
		}
	return NULL;
}

bool mil_op_param(const mil_op *op, const char *key, const mil_value **value, const char **name)
{
	*value = NULL;
	*name = NULL;
	const mil_binding *b = mil_op_input(op, key);
	if (b) {
		if (b->binding_case == MIL_BINDING_NAME)
			*name = b->name;
		else if (b->binding_case == MIL_BINDING_VALUE)
			*value = b->value;
		return *name || *value;
	}
	*value = mil_op_attr(op, key);
	return *value != NULL;
}

int mil_tensor_shape(const mil_value_type *vt, mld_dtype *dt, unsigned *rank, uint64_t *shape, uint64_t *count,
                     const char *what)
{
	if (!vt || vt->type_case != MIL_TYPE_TENSOR || !vt->tensortype)
		return mld__err(MLD_EUNSUPPORTED, "%s: not a tensor type", what);
	const mil_tensor_type *tt = vt->tensortype;
	if (tt->rank < 0 || (size_t)tt->rank != tt->n_dimensions)
		return mld__err(MLD_EFORMAT, "%s: rank %lld does not match its %zu dimensions", what,
		                (long long)tt->rank, tt->n_dimensions);
	if (tt->n_dimensions > MLD_MAX_RANK)
		return mld__err(MLD_EUNSUPPORTED, "%s: rank %zu exceeds the supported %d", what, tt->n_dimensions,
		                MLD_MAX_RANK);
	uint64_t n = 1;
	for (size_t d = 0; d < tt->n_dimensions; d++) {
		const CoreML__Specification__MILSpec__Dimension *dim = tt->dimensions[d];
		if (!dim || dim->dimension_case != MIL_DIM_CONSTANT || !dim->constant)
			return mld__err(MLD_EUNSUPPORTED, "%s: dimension %zu is not a constant", what, d);
		shape[d] = dim->constant->size;
		if (!mld__mul_u64(n, shape[d], &n) || n > (UINT64_C(1) << 48))
			return mld__err(MLD_EFORMAT, "%s: shape element count overflows", what);
	}
	*dt = (mld_dtype)tt->datatype;
	if (mld_dtype_bits(*dt) == 0 && *dt != MLD_DT_STRING)
		return mld__err(MLD_EFORMAT, "%s: unknown dtype %d", what, (int)tt->datatype);
	*rank = (unsigned)tt->n_dimensions;
	*count = n;
	return 0;
}

static void *arena_alloc(void *a, size_t n) { return mld__arena_alloc(a, n); }

static void arena_free(void *a, void *p)
{
	if (p && !mld__arena_contains(a, p))
		free(p);
}

ProtobufCAllocator mld__pb_arena(mld__arena *a) { return (ProtobufCAllocator){arena_alloc, arena_free, a}; }

void *mil_clone(const ProtobufCMessage *m, ProtobufCAllocator *al)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = mld__malloc(n ? n : 1);
	if (!buf)
		return NULL;
	protobuf_c_message_pack(m, buf);
	ProtobufCMessage *c = protobuf_c_message_unpack(m->descriptor, al, n, buf);
	free(buf);
	if (!c)
		mld__err(MLD_ENOMEM, "cannot copy a %s", m->descriptor->short_name);
	return c;
}
