#include "subbyte.h"

bool mld__packed_size(uint64_t count, unsigned bits, uint64_t *bytes)
{
	uint64_t nbits;
	if (!mld__mul_u64(count, bits, &nbits))
		return false;
	*bytes = nbits / 8 + (nbits % 8 != 0);
	return true;
}

void mld__unpack(uint8_t *dst, const uint8_t *src, uint64_t count, unsigned bits, bool sign)
{
	if (bits == 8) {
		memcpy(dst, src, count);
		return;
	}
	/* Whole groups of elements that fill whole bytes go fast; the tail goes
	 * through the generic bit reader. */
	uint64_t i = 0;
	if (bits == 4) { /* two per byte */
		for (; i + 2 <= count; i += 2) {
			uint8_t b = src[i >> 1];
			dst[i] = b & 15;
			dst[i + 1] = b >> 4;
		}
	} else if (bits == 6) { /* four per three bytes */
		for (; i + 4 <= count; i += 4) {
			const uint8_t *p = src + (i / 4) * 3;
			uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
			dst[i] = v & 63;
			dst[i + 1] = (v >> 6) & 63;
			dst[i + 2] = (v >> 12) & 63;
			dst[i + 3] = (uint8_t)(v >> 18);
		}
	} else if (bits == 3) { /* eight per three bytes */
		for (; i + 8 <= count; i += 8) {
			const uint8_t *p = src + (i / 8) * 3;
			uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
			for (int k = 0; k < 8; k++)
				dst[i + k] = (v >> (3 * k)) & 7;
		}
	} else if (bits == 2 || bits == 1) { /* 4 or 8 per byte */
		unsigned per = 8 / bits, mask = (1u << bits) - 1;
		for (; i + per <= count; i += per) {
			uint8_t b = src[i / per];
			for (unsigned k = 0; k < per; k++)
				dst[i + k] = (b >> (bits * k)) & mask;
		}
	}
	{
		for (; i < count; i++)
			dst[i] = (uint8_t)mld__packed_get(src, i, bits);
	}
	if (sign) {
		unsigned m = 1u << (bits - 1);
		for (uint64_t k = 0; k < count; k++)
			dst[k] = (uint8_t)(int8_t)((int)(dst[k] ^ m) - (int)m);
	}
}

void mld__pack(uint8_t *dst, const uint8_t *src, uint64_t count, unsigned bits)
{
	uint64_t n = 0;
	mld__packed_size(count, bits, &n);
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
