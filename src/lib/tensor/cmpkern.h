/* Comparison kernels: the closeness metrics of verification (cos, mean |d|, max |d|)
 * accumulated a block at a time, so that two weights can be compared while they are
 * decoded, on any core, with SIMD.
 *
 * Every path gives the same bits: values are widened to double (exactly: fp16 and
 * fp32 values are doubles, and so is the product of two fp16 values), and element i
 * is summed into lane i % 8 of each sum in element order; the lanes are added in one
 * fixed order at the end. A block must start at an element index that is a multiple
 * of 8 (wread.h's blocks do). */
#ifndef MLD_CMPKERN_H
#define MLD_CMPKERN_H

#include "../core/common.h"
#include "../core/cpu.h"

#define MLD_CMP_LANES 8

typedef struct mld__cmpacc {
	double dot[MLD_CMP_LANES], na[MLD_CMP_LANES], nb[MLD_CMP_LANES], sd[MLD_CMP_LANES], mx[MLD_CMP_LANES];
	uint64_t count;
	int nan; /* some |a - b| was NaN: max |d| is NaN, as mld_tensor_compare always said */
} mld__cmpacc;

/* n fp16 pairs, n a multiple of 8, element k of the call in lane k % 8 */
typedef void (*mld__cmp_f16_fn)(mld__cmpacc *acc, const uint16_t *a, const uint16_t *b, size_t n);

typedef struct mld__cmpkern {
	mld__isa isa;
	const char *name;
	mld__cmp_f16_fn f16; /* NULL when this build lacks the ISA */
} mld__cmpkern;

const mld__cmpkern *mld__cmpkern_for(mld__isa cap);
const mld__cmpkern *mld__cmpkern_get(void);
extern const mld__cmpkern mld__cmpkern_scalar, mld__cmpkern_avx2, mld__cmpkern_neon;

void mld__cmpacc_init(mld__cmpacc *acc);
/* Feed n pairs: a's values of dtype da, b's of db (any numeric dtype; fp16 pairs take
 * the kernel); the block starts at an element index that is a multiple of 8. */
void mld__cmpacc_feed(mld__cmpacc *acc, const mld__cmpkern *k, mld_dtype da, const void *a, mld_dtype db, const void *b,
                      uint64_t n);
/* cos (1 when both are all zero, 0 when one is), mean |d|, max |d|. */
void mld__cmpacc_result(const mld__cmpacc *acc, mld_metrics *m);

#endif
