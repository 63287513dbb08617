#include "subbyte.h"

bool mld_packed_size(uint64_t count, unsigned bits, uint64_t *bytes)
{
	uint64_t nbits;
	if (!mld_mul_u64(count, bits, &nbits))
		return false;
	*bytes = nbits / 8 + (nbits % 8 != 0);
	return true;
}

void mld_unpack(uint8_t *dst, const uint8_t *src, uint64_t count, unsigned bits, bool sign)
{
	if (bits == 8) {
		memcpy(dst, src, count);
		return;
	}
	if (bits == 4) { /* the common case, two per byte */
		for (uint64_t i = 0; i < count; i++)
			dst[i] = (src[i >> 1] >> ((i & 1) * 4)) & 15;
	} else {
		for (uint64_t i = 0; i < count; i++)
			dst[i] = (uint8_t)mld_packed_get(src, i, bits);
	}
	if (sign) {
		unsigned m = 1u << (bits - 1);
		for (uint64_t i = 0; i < count; i++)
			dst[i] = (uint8_t)(int8_t)((int)(dst[i] ^ m) - (int)m);
	}
}

void mld_pack(uint8_t *dst, const uint8_t *src, uint64_t count, unsigned bits)
{
	uint64_t n;
	mld_packed_size(count, bits, &n);
	memset(dst, 0, n);
	unsigned mask = (1u << bits) - 1;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t bit = i * bits;
		unsigned v = src[i] & mask;
		dst[bit >> 3] |= (uint8_t)(v << (bit & 7));
		unsigned have = 8 - (unsigned)(bit & 7);
		if (have < bits)
			dst[(bit >> 3) + 1] |= (uint8_t)(v >> have);
	}
}
