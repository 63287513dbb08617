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
	unsigned seed;    /* changes every value (not the layout) */
	bool second_fn;   /* add a second function "prefill" sharing blobs with "main" */
	bool huge_shape;  /* add const "w_huge" typed fp16 [2^40, 2^40] over an 8-byte blob */
	bool huge_immediate; /* declare w_lut16's 4-entry immediate palette as fp16 [2^39] */
	bool all_ops;    /* add one weight of every other constexpr form (sparse iOS16/18, affine, cast,
	                     lut_to_sparse and sparse_blockwise_shift_scale chains) */
	int cycle;       /* 1: a constexpr op consuming its own output ("w_cyc"); 2: two constexpr ops
	                    consuming each other's ("w_cyc_a", "w_cyc_b") */
} synth_opts;

/* Write the package at `path` (must end in .mlpackage; replaced if it exists).
 * Returns 0, or a negative MLD_E* code with mld_error_last() set. */
int synth_write(const char *path, const synth_opts *o);

#endif
