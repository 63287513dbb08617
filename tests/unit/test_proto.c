/* The protobuf-c subset schema: the §2.4 wire example, and unknown fields surviving
 * an unpack/repack round trip (the subset schema must not lose what it does not
 * declare). */
#include "testutil.h"

#define WEIGHT_FILE "@model_path/weights/weight.bin"

static int teardown(void **state)
{
	(void)state;
	tu_arena_free();
	return 0;
}

static uint8_t *pack_model(const mil_model *m, size_t *len)
{
	*len = core_ml__specification__model__get_packed_size(m);
	uint8_t *buf = malloc(*len + 64);
	assert_non_null(buf);
	assert_int_equal(core_ml__specification__model__pack(m, buf), *len);
	return buf;
}

/* §2.4: Value{type tensor<fp16,[4]>, blobFileValue{fileName, offset 64}} is 50 bytes. */
static void test_wire_example_value(void **state)
{
	(void)state;
	/* the bytes grouped by field */
	/* clang-format off */
	static const uint8_t want[50] = {
		0x12, 0x0C, 0x0A, 0x0A, 0x08, 0x0A, 0x10, 0x01, 0x1A, 0x04, 0x0A, 0x02, 0x08, 0x04, /* type */
		0x2A, 0x22, 0x0A, 0x1E,                                                             /* blobFileValue, fileName */
		'@', 'm', 'o', 'd', 'e', 'l', '_', 'p', 'a', 't', 'h', '/', 'w', 'e', 'i', 'g', 'h', 't', 's', '/',
		'w', 'e', 'i', 'g', 'h', 't', '.', 'b', 'i', 'n',
		0x10, 0x40, /* offset = 64 */
	};
	/* clang-format on */
	mil_value *v = tu_blob_value(MLD_DT_FP16, 1, (uint64_t[]){4}, WEIGHT_FILE, 64);
	size_t n = core_ml__specification__milspec__value__get_packed_size(v);
	assert_int_equal(n, 50);
	uint8_t buf[64];
	assert_int_equal(core_ml__specification__milspec__value__pack(v, buf), 50);
	assert_memory_equal(buf, want, 50);

	/* and the documented bytes decode to that Value */
	mil_value *u = core_ml__specification__milspec__value__unpack(NULL, 50, want);
	assert_non_null(u);
	assert_int_equal(u->value_case, MIL_VALUE_BLOB);
	assert_string_equal(u->blobfilevalue->filename, WEIGHT_FILE);
	assert_int_equal(u->blobfilevalue->offset, 64);
	mld_dtype dt;
	unsigned rank;
	uint64_t shape[MLD_MAX_RANK], count;
	assert_ok(mil_tensor_shape(u->type, &dt, &rank, shape, &count, "value"));
	assert_int_equal(dt, MLD_DT_FP16);
	assert_int_equal(rank, 1);
	assert_int_equal(shape[0], 4);
	assert_int_equal(count, 4);
	assert_int_equal(u->base.n_unknown_fields, 0);
	core_ml__specification__milspec__value__free_unpacked(u, NULL);
}

static mil_model *small_model(mil_op **op_out)
{
	mil_op *op = tu_const_op("w", tu_blob_value(MLD_DT_FP16, 2, (uint64_t[]){4, 4}, WEIGHT_FILE, 64));
	mil_function *fn = tu_function("CoreML8", tu_block(&op, 1, "w"));
	const char *names[1] = {"main"};
	if (op_out)
		*op_out = op;
	return tu_ml_program(9, 1, names, &fn);
}

static const mil_op *first_op(const mil_model *m)
{
	assert_int_equal(m->type_case, CORE_ML__SPECIFICATION__MODEL__TYPE_ML_PROGRAM);
	assert_int_equal(m->mlprogram->n_functions, 1);
	const mil_block *b = mil_function_block(m->mlprogram->functions[0]->value);
	assert_non_null(b);
	assert_true(b->n_operations >= 1);
	return b->operations[0];
}

static void test_model_unknown_fields_survive(void **state)
{
	(void)state;
	size_t len;
	uint8_t *bytes = pack_model(small_model(NULL), &len);
	/* undeclared Model fields: 900 varint 42 (A0 38 2A), 2000 bytes "abc" (82 7D 03 61 62 63) */
	static const uint8_t extra[] = {0xA0, 0x38, 0x2A, 0x82, 0x7D, 0x03, 'a', 'b', 'c'};
	memcpy(bytes + len, extra, sizeof extra);
	size_t total = len + sizeof extra;

	mil_model *m = core_ml__specification__model__unpack(NULL, total, bytes);
	assert_non_null(m);
	assert_int_equal(m->specificationversion, 9);
	assert_int_equal(m->base.n_unknown_fields, 2);
	const ProtobufCMessageUnknownField *u = m->base.unknown_fields;
	assert_int_equal(u[0].tag, 900);
	assert_int_equal(u[0].wire_type, PROTOBUF_C_WIRE_TYPE_VARINT);
	assert_int_equal(u[0].len, 1);
	assert_int_equal(u[0].data[0], 42);
	assert_int_equal(u[1].tag, 2000);
	assert_int_equal(u[1].wire_type, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED);
	/* protobuf-c keeps the length prefix with the payload */
	assert_int_equal(u[1].len, 4);
	assert_memory_equal(u[1].data,
	                    "\x03"
	                    "abc",
	                    4);
	/* the known part decoded normally */
	const mil_op *op = first_op(m);
	assert_string_equal(op->type, "const");
	assert_string_equal(m->mlprogram->functions[0]->key, "main");

	/* repack: the same bytes, unknown fields after the known ones */
	size_t len2;
	uint8_t *again = pack_model(m, &len2);
	assert_int_equal(len2, total);
	assert_memory_equal(again, bytes, total);
	free(again);
	core_ml__specification__model__free_unpacked(m, NULL);
	free(bytes);
}

static void test_nested_unknown_fields_survive(void **state)
{
	(void)state;
	mil_op *op = NULL;
	mil_model *model = small_model(&op);
	/* Operation field 6 (varint 7) and field 9 (bytes "xyz"); Value field 4 (unused
	 * in the format: bytes "hi") */
	static uint8_t v7[] = {0x07}, xyz[] = {0x03, 'x', 'y', 'z'}, hi[] = {0x02, 'h', 'i'};
	ProtobufCMessageUnknownField op_unknown[2] = {
		{6, PROTOBUF_C_WIRE_TYPE_VARINT, sizeof v7, v7},
		{9, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, sizeof xyz, xyz},
	};
	op->base.n_unknown_fields = 2;
	op->base.unknown_fields = op_unknown;
	mil_value *val = op->attributes[1]->value;
	ProtobufCMessageUnknownField val_unknown = {4, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, sizeof hi, hi};
	val->base.n_unknown_fields = 1;
	val->base.unknown_fields = &val_unknown;

	size_t len;
	uint8_t *bytes = pack_model(model, &len);
	/* detach the stack arrays before the arena frees the messages */
	op->base.n_unknown_fields = 0;
	op->base.unknown_fields = NULL;
	val->base.n_unknown_fields = 0;
	val->base.unknown_fields = NULL;

	mil_model *m = core_ml__specification__model__unpack(NULL, len, bytes);
	assert_non_null(m);
	const mil_op *uop = first_op(m);
	assert_int_equal(uop->base.n_unknown_fields, 2);
	assert_int_equal(uop->base.unknown_fields[0].tag, 6);
	assert_int_equal(uop->base.unknown_fields[0].wire_type, PROTOBUF_C_WIRE_TYPE_VARINT);
	assert_memory_equal(uop->base.unknown_fields[0].data, v7, 1);
	assert_int_equal(uop->base.unknown_fields[1].tag, 9);
	assert_int_equal(uop->base.unknown_fields[1].len, 4);
	assert_memory_equal(uop->base.unknown_fields[1].data, xyz, 4);
	const mil_value *uval = mil_op_attr(uop, "val");
	assert_non_null(uval);
	assert_int_equal(uval->value_case, MIL_VALUE_BLOB);
	assert_int_equal(uval->blobfilevalue->offset, 64);
	assert_int_equal(uval->base.n_unknown_fields, 1);
	assert_int_equal(uval->base.unknown_fields[0].tag, 4);
	assert_memory_equal(uval->base.unknown_fields[0].data, hi, 3);

	size_t len2;
	uint8_t *again = pack_model(m, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(again, bytes, len);
	free(again);
	core_ml__specification__model__free_unpacked(m, NULL);
	free(bytes);
}

static void test_operation_appended_unknown_field(void **state)
{
	(void)state;
	/* the raw-bytes way: pack an Operation, append field 900 varint, unpack */
	mil_op *op = tu_const_op("w", tu_blob_value(MLD_DT_UINT4, 1, (uint64_t[]){5}, WEIGHT_FILE, 192));
	size_t n = core_ml__specification__milspec__operation__get_packed_size(op);
	uint8_t *buf = malloc(n + 3);
	assert_int_equal(core_ml__specification__milspec__operation__pack(op, buf), n);
	memcpy(buf + n, "\xA0\x38\x2A", 3);
	mil_op *u = core_ml__specification__milspec__operation__unpack(NULL, n + 3, buf);
	assert_non_null(u);
	assert_int_equal(u->base.n_unknown_fields, 1);
	assert_int_equal(u->base.unknown_fields[0].tag, 900);
	assert_int_equal(u->base.unknown_fields[0].data[0], 42);
	assert_string_equal(u->outputs[0]->name, "w");
	uint8_t *again = malloc(n + 3);
	assert_int_equal(core_ml__specification__milspec__operation__get_packed_size(u), n + 3);
	core_ml__specification__milspec__operation__pack(u, again);
	assert_memory_equal(again, buf, n + 3);
	free(again);
	core_ml__specification__milspec__operation__free_unpacked(u, NULL);
	free(buf);
}

static void test_model_known_fields_round_trip(void **state)
{
	(void)state;
	size_t len;
	mil_op *ops[2] = {
		tu_const_op("a", tu_blob_value(MLD_DT_FP16, 1, (uint64_t[]){4}, WEIGHT_FILE, 64)),
		tu_const_op("b", tu_blob_value(MLD_DT_UINT4, 1, (uint64_t[]){5}, WEIGHT_FILE, 192)),
	};
	mil_function *fns[2] = {tu_function("CoreML8", tu_block(ops, 2, "a")),
	                        tu_function("CoreML8", tu_block(ops + 1, 1, "b"))};
	const char *names[2] = {"f_a", "f_b"};
	uint8_t *bytes = pack_model(tu_ml_program(9, 2, names, fns), &len);
	mil_model *m = core_ml__specification__model__unpack(NULL, len, bytes);
	assert_non_null(m);
	assert_int_equal(m->specificationversion, 9);
	assert_int_equal(m->mlprogram->version, 1);
	assert_int_equal(m->mlprogram->n_functions, 2);
	assert_string_equal(m->mlprogram->functions[1]->key, "f_b");
	assert_string_equal(m->mlprogram->functions[1]->value->opset, "CoreML8");
	assert_int_equal(m->description->n_functions, 2);
	assert_string_equal(m->description->defaultfunctionname, "f_a");
	const mil_block *b = mil_function_block(m->mlprogram->functions[0]->value);
	assert_int_equal(b->n_operations, 2);
	const mil_value *vb = mil_op_attr(b->operations[1], "val");
	assert_int_equal(vb->blobfilevalue->offset, 192);
	assert_int_equal(vb->type->tensortype->datatype, MLD_DT_UINT4);
	const mil_value *name = mil_op_attr(b->operations[1], "name");
	const char *s = NULL;
	assert_ok(mld__value_string(&s, name, "name"));
	assert_string_equal(s, "b");
	assert_int_equal(m->base.n_unknown_fields, 0);
	core_ml__specification__model__free_unpacked(m, NULL);
	free(bytes);
	/* garbage is rejected */
	static const uint8_t junk[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
	assert_null(core_ml__specification__model__unpack(NULL, sizeof junk, junk));
}

/* ValueType{listType{type: ValueType{...}}} nested `levels` ValueTypes deep, as bytes. */
static uint8_t *nested_types(unsigned levels, size_t *len)
{
	uint8_t *b = malloc(16), *n;
	size_t l = 0;
	for (unsigned i = 1; i < levels; i++) { /* ValueType.listType(2) > ListType.type(1) */
		size_t inner = l + (l > 127 ? 2 : 1) + 1;
		n = malloc(inner + (inner > 127 ? 2 : 1) + 1 + 8);
		size_t k = 0;
		n[k++] = 0x12;
		if (inner > 127) {
			n[k++] = (uint8_t)(inner | 0x80);
			n[k++] = (uint8_t)(inner >> 7);
		} else
			n[k++] = (uint8_t)inner;
		n[k++] = 0x0A;
		if (l > 127) {
			n[k++] = (uint8_t)(l | 0x80);
			n[k++] = (uint8_t)(l >> 7);
		} else
			n[k++] = (uint8_t)l;
		memcpy(n + k, b, l);
		free(b);
		b = n;
		l += k;
	}
	*len = l;
	return b;
}

/* The depth scan counts sub-messages exactly where protobuf-c recurses, and the
 * unpack refuses what is deeper than MLD_PROTO_MAX_DEPTH. */
static void test_depth_limit(void **state)
{
	(void)state;
	unsigned depth;
	size_t len;
	/* a ValueType nested n deep: the root plus 2(n-1) sub-messages */
	uint8_t *ok = nested_types(51, &len); /* 100 levels below the root */
	assert_int_equal(
		mil_proto_depth(&core_ml__specification__milspec__value_type__descriptor, ok, len, 100, &depth), 0);
	assert_int_equal(depth, 100);
	ProtobufCMessage *m;
	assert_int_equal(mil_unpack(&m, &core_ml__specification__milspec__value_type__descriptor, ok, len, "t", NULL),
	                 0);
	protobuf_c_message_free_unpacked(m, NULL);
	free(ok);
	uint8_t *deep = nested_types(52, &len); /* 102 */
	assert_int_equal(
		mil_proto_depth(&core_ml__specification__milspec__value_type__descriptor, deep, len, 100, &depth), 1);
	assert_int_equal(
		mil_unpack(&m, &core_ml__specification__milspec__value_type__descriptor, deep, len, "deep.bin", NULL),
		MLD_EFORMAT);
	assert_non_null(strstr(mld_error_last(), "deep.bin: protobuf messages nested more than 100 deep"));
	free(deep);
	/* unknown fields are opaque: not descended into */
	static const uint8_t unknown[] = {0x7A, 0x04, 0x12,
	                                  0x02, 0x0A, 0x00}; /* field 15 holding "listType{type{}}" bytes */
	assert_int_equal(mil_proto_depth(&core_ml__specification__milspec__value_type__descriptor, unknown,
	                                 sizeof unknown, 0, &depth),
	                 0);
	assert_int_equal(depth, 0);
}

/* Field number 0 is not a field: refused even in a non-minimal tag, which protobuf-c
 * would keep and then write back in the form it refuses. */
static void test_field_zero(void **state)
{
	(void)state;
	static const uint8_t zero2[] = {0x08, 0x09, 0x80, 0x00, 0x66}; /* spec 9; field 0 (tag 80 00) = 102 */
	unsigned depth;
	assert_int_equal(mil_proto_depth(&core_ml__specification__model__descriptor, zero2, sizeof zero2, 100, &depth),
	                 -1);
	mil_model *m = NULL;
	assert_int_equal(mil_model_unpack(&m, zero2, sizeof zero2, "zero.mlmodel"), MLD_EFORMAT);
	assert_non_null(strstr(mld_error_last(), "zero.mlmodel: corrupt protobuf"));
	static const uint8_t big[] = {0x08, 0x09, 0xF8, 0xFF, 0xFF, 0xFF, 0x1F, 0x01}; /* field 2^32-1 */
	assert_int_equal(mil_proto_depth(&core_ml__specification__model__descriptor, big, sizeof big, 100, &depth), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_wire_example_value, teardown),
		cmocka_unit_test_teardown(test_model_unknown_fields_survive, teardown),
		cmocka_unit_test_teardown(test_nested_unknown_fields_survive, teardown),
		cmocka_unit_test_teardown(test_operation_appended_unknown_field, teardown),
		cmocka_unit_test_teardown(test_model_known_fields_round_trip, teardown),
		cmocka_unit_test_teardown(test_depth_limit, teardown),
		cmocka_unit_test_teardown(test_field_zero, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
