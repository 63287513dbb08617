/* Data types: MIL codes, blob-file codes, widths, fp16/bf16 conversion. */
#ifndef MLD_DTYPE_H
#define MLD_DTYPE_H

#include "../core/common.h"

/* Blob storage v2 dtype code for a MIL dtype, 0 if it has none. */
uint32_t mld__dtype_to_blob(mld_dtype dt);
/* MIL dtype for a blob dtype code, MLD_DT_INVALID if unknown. */
mld_dtype mld__dtype_from_blob(uint32_t code);
bool mld__dtype_is_subbyte(mld_dtype dt);
bool mld__dtype_is_float(mld_dtype dt);
bool mld__dtype_is_signed_int(mld_dtype dt);
/* Parse a short name ("fp16") back to a dtype; MLD_DT_INVALID if unknown. */
mld_dtype mld__dtype_from_name(const char *name);

/* IEEE binary16 <-> binary32, round to nearest even (as numpy's astype does). */
float mld__half_to_float(uint16_t h);
uint16_t mld__float_to_half(float f);
static inline float mld__bf16_to_float(uint16_t b)
{
	uint32_t u = (uint32_t)b << 16;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

/* All 65536 fp16 values as float, for hot loops (built once, thread-safe). */
const float *mld__half_table(void);

/* Read element i of a dense tensor buffer as double (any numeric dtype). */
double mld__dense_get(mld_dtype dt, const void *data, uint64_t i);

#endif
