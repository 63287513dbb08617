/* Rewriting iOS16-form constexpr ops (parameters as attributes, packed uint8
 * indices/masks, an explicit shape) into the iOS18 input form a spec-9
 * multifunction program needs. The stored bytes stay the same: a packed uint8
 * index stream *is* the LSB-first uintN stream, so only types change, and the
 * dense values are bit-identical. */
#ifndef MLD_IOS18_H
#define MLD_IOS18_H

#include "../io/mil.h"

/* Rewrite every iOS16-form constexpr op in the block (recursively). */
int mld__block_to_ios18(mil_block *b, const char *fn_name);

#endif
