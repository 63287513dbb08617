#include "dtype.h"

#include <math.h>
#include <pthread.h>

static const struct {
	mld_dtype dt;
	const char *name;
	unsigned bits;
	uint32_t blob; /* blob storage v2 code, 0 = none */
} dtypes[] = {
	{MLD_DT_BOOL, "bool", 8, 0},        {MLD_DT_STRING, "string", 0, 0},   {MLD_DT_FP16, "fp16", 16, 1},
	{MLD_DT_FP32, "fp32", 32, 2},       {MLD_DT_FP64, "fp64", 64, 0},      {MLD_DT_BF16, "bf16", 16, 5},
	{MLD_DT_INT8, "int8", 8, 4},        {MLD_DT_INT16, "int16", 16, 6},    {MLD_DT_INT32, "int32", 32, 14},
	{MLD_DT_INT64, "int64", 64, 0},     {MLD_DT_INT4, "int4", 4, 8},       {MLD_DT_UINT8, "uint8", 8, 3},
	{MLD_DT_UINT16, "uint16", 16, 7},   {MLD_DT_UINT32, "uint32", 32, 15}, {MLD_DT_UINT64, "uint64", 64, 0},
	{MLD_DT_UINT4, "uint4", 4, 11},     {MLD_DT_UINT2, "uint2", 2, 10},    {MLD_DT_UINT1, "uint1", 1, 9},
	{MLD_DT_UINT6, "uint6", 6, 13},     {MLD_DT_UINT3, "uint3", 3, 12},    {MLD_DT_FP8E4M3, "fp8e4m3fn", 8, 16},
	{MLD_DT_FP8E5M2, "fp8e5m2", 8, 17},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

const char *mld_dtype_name(mld_dtype dt)
{
	for (size_t i = 0; i < N_DTYPES; i++)
		if (dtypes[i].dt == dt)
			return dtypes[i].name;
	return "?";
}

mld_dtype mld__dtype_from_name(const char *name)
{
	for (size_t i = 0; i < N_DTYPES; i++)
		if (!strcmp(dtypes[i].name, name))
			return dtypes[i].dt;
	return MLD_DT_INVALID;
}

unsigned mld_dtype_bits(mld_dtype dt)
{
	for (size_t i = 0; i < N_DTYPES; i++)
		if (dtypes[i].dt == dt)
			return dtypes[i].bits;
	return 0;
}

unsigned mld_dtype_dense_width(mld_dtype dt)
{
	unsigned b = mld_dtype_bits(dt);
	return b == 0 ? 0 : b < 8 ? 1 : b / 8;
}

uint32_t mld__dtype_to_blob(mld_dtype dt)
{
	for (size_t i = 0; i < N_DTYPES; i++)
		if (dtypes[i].dt == dt)
			return dtypes[i].blob;
	return 0;
}

mld_dtype mld__dtype_from_blob(uint32_t code)
{
	for (size_t i = 0; i < N_DTYPES; i++)
		if (code && dtypes[i].blob == code)
			return dtypes[i].dt;
	return MLD_DT_INVALID;
}

bool mld__dtype_is_subbyte(mld_dtype dt)
{
	unsigned b = mld_dtype_bits(dt);
	return b > 0 && b < 8;
}

bool mld__dtype_is_float(mld_dtype dt)
{
	return dt == MLD_DT_FP16 || dt == MLD_DT_FP32 || dt == MLD_DT_FP64 || dt == MLD_DT_BF16 ||
	       dt == MLD_DT_FP8E4M3 || dt == MLD_DT_FP8E5M2;
}

bool mld__dtype_is_signed_int(mld_dtype dt)
{
	return dt == MLD_DT_INT4 || dt == MLD_DT_INT8 || dt == MLD_DT_INT16 || dt == MLD_DT_INT32 || dt == MLD_DT_INT64;
}

float mld__half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
	if (exp == 0) {
		if (man == 0) {
			u = sign;
		} else { /* subnormal: renormalise */
			int e = -1;
			do {
				e++;
				man <<= 1;
			} while (!(man & 0x400));
			u = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
		}
	} else if (exp == 31) {
		u = sign | 0x7f800000u | man << 13;
	} else {
		u = sign | (exp + 112) << 23 | man << 13;
	}
	float f;
	memcpy(&f, &u, 4);
	return f;
}

uint16_t mld__float_to_half(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
	uint32_t exp = (u >> 23) & 0xff, man = u & 0x7fffff;
	if (exp == 0xff) /* inf / nan (keep a quiet nan payload bit) */
		return (uint16_t)(sign | 0x7c00 | (man ? 0x200 | (man >> 13) : 0));
	int e = (int)exp - 127 + 15;
	if (e >= 31)
		return (uint16_t)(sign | 0x7c00);
	if (e <= 0) { /* subnormal or zero in half */
		if (e < -10)
			return sign;
		man |= 0x800000;
		unsigned shift = (unsigned)(14 - e);
		uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
		if (rem > mid || (rem == mid && (half & 1)))
			half++;
		return (uint16_t)(sign | half);
	}
	uint32_t half = (uint32_t)e << 10 | man >> 13, rem = man & 0x1fff;
	if (rem > 0x1000 || (rem == 0x1000 && (half & 1)))
		half++; /* may carry into the exponent, which is still correct (up to inf) */
	return (uint16_t)(sign | half);
}

double mld__dense_get(mld_dtype dt, const void *data, uint64_t i)
{
	const uint8_t *p = data;
	switch (dt) {
	case MLD_DT_FP16: return mld__half_to_float(mld__rd16(p + 2 * i));
	case MLD_DT_BF16: return mld__bf16_to_float(mld__rd16(p + 2 * i));
	case MLD_DT_FP32: {
		uint32_t u = mld__rd32(p + 4 * i);
		float f;
		memcpy(&f, &u, 4);
		return f;
	}
	case MLD_DT_FP64: {
		uint64_t u = mld__rd64(p + 8 * i);
		double d;
		memcpy(&d, &u, 8);
		return d;
	}
	case MLD_DT_INT4:
	case MLD_DT_INT8: return (int8_t)p[i];
	case MLD_DT_INT16: return (int16_t)mld__rd16(p + 2 * i);
	case MLD_DT_INT32: return (int32_t)mld__rd32(p + 4 * i);
	case MLD_DT_INT64: return (double)(int64_t)mld__rd64(p + 8 * i);
	case MLD_DT_UINT16: return mld__rd16(p + 2 * i);
	case MLD_DT_UINT32: return mld__rd32(p + 4 * i);
	case MLD_DT_UINT64: return (double)mld__rd64(p + 8 * i);
	case MLD_DT_BOOL:
	case MLD_DT_UINT8:
	case MLD_DT_UINT1:
	case MLD_DT_UINT2:
	case MLD_DT_UINT3:
	case MLD_DT_UINT4:
	case MLD_DT_UINT6: return p[i];
	default: return NAN;
	}
}

static float half_table[65536];
static pthread_once_t half_once = PTHREAD_ONCE_INIT;

static void half_init(void)
{
	for (uint32_t i = 0; i < 65536; i++)
		half_table[i] = mld__half_to_float((uint16_t)i);
}

const float *mld__half_table(void)
{
	pthread_once(&half_once, half_init);
	return half_table;
}
