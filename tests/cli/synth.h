/* A synthetic .mlpackage for tests that must not depend on ../shared: a small
 * ML Program built with the protobuf-c types and written by the library's own
 * package writer. Every weight form the fixtures use appears once (fp16/fp32
 * const, a blob shared by two consts, iOS18 LUT with grouped palettes, iOS18 LUT
 * with uint3 indices, iOS16 LUT with packed indices and an immediate shape,
 * int4 blockwise shift/scale with an int4 offset). Output is deterministic. */
#ifndef MLD_TEST_SYNTH_H
#define MLD_TEST_SYNTH_H

#include <stdbool.h>

typedef struct synth_opts {
	unsigned seed;        /* changes every value (not the layout) */
	bool second_fn;       /* add a second function "prefill" sharing blobs with "main" */
	bool huge_shape;      /* add const "w_huge" typed fp16 [2^40, 2^40] over an 8-byte blob */
	bool huge_immediate;  /* declare w_lut16's 4-entry immediate palette as fp16 [2^39] */
	bool all_ops;         /* add one weight of every other constexpr form (sparse iOS16/18, affine, cast,
	                     lut_to_sparse and sparse_blockwise_shift_scale chains) */
	int cycle;            /* 1: a constexpr op consuming its own output ("w_cyc"); 2: two constexpr ops
	                    consuming each other's ("w_cyc_a", "w_cyc_b") */
	bool ios16;           /* an iOS16 program instead (spec 7, opset CoreML6): iOS16-form constexpr ops and
	                    the ops whose meaning changed by iOS18 (gather, scatter families; clip; reshape) */
	unsigned ios16_cases; /* SYNTH_IOS16_*: ops added to the iOS16 program, one op-set decision each */
	unsigned ios16_opset; /* label that program CoreML5 (spec 6) or CoreML7 (spec 8) instead of CoreML6 */
} synth_opts;

enum {
	SYNTH_IOS16_CROP_RESIZE = 1 << 0,    /* crop_resize with the iOS15/16 input "roi" */
	SYNTH_IOS16_NMS = 1 << 1,            /* non_maximum_suppression with "score_threshold" */
	SYNTH_IOS16_CLIP_EQUAL = 1 << 2,     /* clip with alpha == beta */
	SYNTH_IOS16_IDX_CONST_POS = 1 << 3,  /* gather with immediate indices [0, 5] */
	SYNTH_IOS16_IDX_CONST_NEG = 1 << 4,  /* gather with immediate indices [-1, 2] */
	SYNTH_IOS16_IDX_UINT16 = 1 << 5,     /* gather with uint16 runtime indices */
	SYNTH_IOS16_IDX_INT16 = 1 << 6,      /* gather with int16 runtime indices */
	SYNTH_IOS16_IDX_SYMBOLIC = 1 << 7,   /* gather along an axis of unknown size */
	SYNTH_IOS16_UNTYPED_MASK = 1 << 8,   /* the iOS16 sparse_to_dense mask an immediate without a type */
	SYNTH_IOS16_SHAPE_MISMATCH = 1 << 9, /* the iOS16 sparse_to_dense shape [4, 4096] over a 4-byte mask */
};
/* "crop_resize", "nms", ... -> SYNTH_IOS16_*, 0 if unknown */
unsigned synth_ios16_case(const char *name);

/* Write the package at `path` (must end in .mlpackage; replaced if it exists).
 * Returns 0, or a negative MLD_E* code with mld_error_last() set. */
int synth_write(const char *path, const synth_opts *o);

/* The same package in memory (mld__pkgmem, src/lib/write/pkgwrite.h). */
struct mld__pkgmem;
int synth_write_mem(struct mld__pkgmem *out, const synth_opts *o);

#endif
