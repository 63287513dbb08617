/* Palette (LUT) decode kernels: fp16 palette entries (as uint16) looked up by packed
 * indices, the inner loop of iOS18 constexpr_lut_to_dense with scalar palettes. The
 * palette changes per run of elements (per grouped channel), so a call decodes one
 * run, or part of one, with one palette. Every path gives the scalar twin's bytes. */
#ifndef MLD_LUTKERN_H
#define MLD_LUTKERN_H

#include "../core/cpu.h"

#include <stddef.h>
#include <stdint.h>

/* Decode n elements from src (starting on a byte) into dst through pal.
 *   u4:  packed uint4 indices (LSB-first, two per byte), n even, 16-entry palette
 *   u6:  packed uint6 indices (LSB-first, four per three bytes), n % 4 == 0, 64 entries
 *   u8:  one index per byte, 256 entries
 *   b64: one index per byte of which only the low 6 bits count, 64 entries: indices
 *        of any narrower type, already unpacked, through a palette padded to 64 */
typedef void (*mld__lut_fn)(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal);

typedef struct mld__lutkern {
	mld__isa isa;
	const char *name;
	mld__lut_fn u4, u6, u8, b64; /* all NULL when this build lacks the ISA */
} mld__lutkern;

/* The kernels of the best ISA at or below `cap` that this CPU runs (scalar at worst). */
const mld__lutkern *mld__lutkern_for(mld__isa cap);
/* The kernels in use: mld__lutkern_for(mld__cpu_cap()), chosen once. */
const mld__lutkern *mld__lutkern_get(void);

/* The per-ISA tables (lutkern_*.c); empty where not built. */
extern const mld__lutkern mld__lutkern_scalar, mld__lutkern_neon, mld__lutkern_avx2, mld__lutkern_avx512;

#endif
