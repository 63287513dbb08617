/* Short names for the protobuf-c types generated from the schema/ protos, and small
 * accessors over them used by the reader, the evaluator and the writer. */
#ifndef MLD_MIL_H
#define MLD_MIL_H

#include "../core/common.h"
#include "model.pb-c.h"

typedef CoreML__Specification__Model mil_model;
typedef CoreML__Specification__ModelDescription mil_model_desc;
typedef CoreML__Specification__MILSpec__Program mil_program;
typedef CoreML__Specification__MILSpec__Function mil_function;
typedef CoreML__Specification__MILSpec__Block mil_block;
typedef CoreML__Specification__MILSpec__Operation mil_op;
typedef CoreML__Specification__MILSpec__Argument mil_argument;
typedef CoreML__Specification__MILSpec__Argument__Binding mil_binding;
typedef CoreML__Specification__MILSpec__Value mil_value;
typedef CoreML__Specification__MILSpec__ValueType mil_value_type;
typedef CoreML__Specification__MILSpec__TensorType mil_tensor_type;
typedef CoreML__Specification__MILSpec__TensorValue mil_tensor_value;
typedef CoreML__Specification__MILSpec__NamedValueType mil_named_type;

#define MIL_BINDING_NAME CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__BINDING__BINDING_NAME
#define MIL_BINDING_VALUE CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__BINDING__BINDING_VALUE
#define MIL_VALUE_IMMEDIATE CORE_ML__SPECIFICATION__MILSPEC__VALUE__VALUE_IMMEDIATE_VALUE
#define MIL_VALUE_BLOB CORE_ML__SPECIFICATION__MILSPEC__VALUE__VALUE_BLOB_FILE_VALUE
#define MIL_TYPE_TENSOR CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__TYPE_TENSOR_TYPE
#define MIL_IMM_TENSOR CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__VALUE_TENSOR
#define MIL_DIM_CONSTANT CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__DIMENSION_CONSTANT

static inline bool mil_is_constexpr(const mil_op *op) { return !strncmp(op->type, "constexpr_", 10); }
static inline bool mil_is_const(const mil_op *op) { return !strcmp(op->type, "const"); }

/* Sub-messages may nest this deep below the Model (protobuf C++'s default recursion
 * limit, which Core ML's own reader applies): deeper bytes are refused before
 * protobuf-c, whose unpack recurses once per level with no limit, sees them. */
#define MLD_PROTO_MAX_DEPTH 100

/* How deep sub-messages nest in `buf`, read as a `desc` message: an iterative scan
 * of the wire format, descending only into the length-delimited fields the schema
 * declares as messages (exactly where protobuf-c's unpack recurses). Returns 0 with
 * *depth (the root is 0); 1 as soon as the nesting passes max_depth (*depth =
 * max_depth + 1); -1 for bytes that are not a well-formed wire stream (a field
 * number 0 or above 2^29-1 included: protobuf C++ refuses them). */
int mil_proto_depth(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len, unsigned max_depth,
                    unsigned *depth);

/* Unpack untrusted bytes as a `desc` message, refusing nesting past
 * MLD_PROTO_MAX_DEPTH first. Errors name `what` (the file) and `kind` (the message,
 * NULL: its protobuf name). */
int mil_unpack(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
               const char *what, const char *kind);
/* mil_unpack with an allocator (NULL: protobuf-c's default). */
int mil_unpack_with(ProtobufCMessage **out, const ProtobufCMessageDescriptor *desc, ProtobufCAllocator *al,
                    const uint8_t *buf, size_t len, const char *what, const char *kind);
/* The allocator parsing into arena a (core/arena.h); its free leaves that arena's
 * pieces alone and frees others (a tree whose pieces are that arena's or malloc'd). */
struct mld__arena;
ProtobufCAllocator mld__pb_arena(struct mld__arena *a);
/* A deep copy of message m through its wire form, allocated with al (NULL: malloc);
 * NULL with the message set when out of memory. */
void *mil_clone(const ProtobufCMessage *m, ProtobufCAllocator *al);

/* mil_unpack of a Model. */
int mil_model_unpack(mil_model **out, const uint8_t *buf, size_t len, const char *what);

/* The block of a function: the specialization named by its opset. NULL if absent. */
const mil_block *mil_function_block(const mil_function *fn);
/* Attribute `key` of an op (Value), or NULL. */
const mil_value *mil_op_attr(const mil_op *op, const char *key);
/* Input `key` of an op: its single binding, or NULL. */
const mil_binding *mil_op_input(const mil_op *op, const char *key);

/* An op's parameters: its attributes but "name", then its single-value input bindings,
 * sorted by name (so that the order does not depend on how a writer serialized the
 * op's maps). Up to MIL_MAX_PARAMS; returns how many. Weight discovery lists a
 * weight's blobs in this order, and the output stamp must find them in the same. */
#define MIL_MAX_PARAMS 64
size_t mil_op_params(const mil_op *op, const mil_value **vals, const char **names);

/* The op parameter `key`, from inputs (iOS18 form) or attributes (iOS16 form):
 * exactly one of *value / *name is set when found; returns false if absent. */
bool mil_op_param(const mil_op *op, const char *key, const mil_value **value, const char **name);

/* Tensor dtype and a fully known shape from a ValueType. Errors name `what`. */
int mil_tensor_shape(const mil_value_type *vt, mld_dtype *dt, unsigned *rank, uint64_t *shape, uint64_t *count,
                     const char *what);

#endif
