/* Sub-byte packing: an LSB-first bit stream, element i at bits [i*n, i*n+n). */
#ifndef MLD_SUBBYTE_H
#define MLD_SUBBYTE_H

#include "../core/common.h"

/* Bytes needed to pack `count` elements of `bits` bits; false on overflow. */
bool mld__packed_size(uint64_t count, unsigned bits, uint64_t *bytes);
/* Unpack `count` elements from `src` into one byte each; int4 is sign-extended. */
void mld__unpack(uint8_t *dst, const uint8_t *src, uint64_t count, unsigned bits, bool sign);
/* Pack `count` one-byte elements (low `bits` bits of each) into `dst`
 * (mld__packed_size bytes, unused high bits of the last byte zero). */
void mld__pack(uint8_t *dst, const uint8_t *src, uint64_t count, unsigned bits);
/* Bits [i*bits, i*bits+bits) of a packed stream. */
static inline unsigned mld__packed_get(const uint8_t *src, uint64_t i, unsigned bits)
{
	uint64_t bit = i * bits;
	unsigned v = src[bit >> 3] >> (bit & 7);
	unsigned have = 8 - (unsigned)(bit & 7);
	if (have < bits)
		v |= (unsigned)src[(bit >> 3) + 1] << have;
	return v & ((1u << bits) - 1);
}

#endif
