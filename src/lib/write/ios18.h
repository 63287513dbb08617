/* Rewriting iOS16-form constexpr ops (parameters as attributes, packed uint8
 * indices/masks, an explicit shape) into the iOS18 input form a spec-9
 * multifunction program needs. The stored bytes stay the same: a packed uint8
 * index stream *is* the LSB-first uintN stream, so only types change, and the
 * dense values are bit-identical. */
#ifndef MLD_IOS18_H
#define MLD_IOS18_H

#include "../io/mil.h"

/* Raise a function from its op set (fn->opset: CoreML5/6/7 = iOS15/16/17) to the
 * iOS18 one (CoreML8) that a multifunction program needs: the iOS16-form constexpr
 * ops rewritten into their iOS18 form, and, from iOS15/16, every op whose meaning or inputs changed by
 * iOS18 is migrated or refused (MLD_EREFUSED naming the op and the way out). The
 * decisions, op by op, are in the table at the top of ios18.c. */
int mld__function_to_ios18(mil_function *fn, const char *fn_name);

#endif
