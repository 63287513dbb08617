/* XXH3 with its AVX2 code path: this file alone is compiled with -mavx2. */
#if defined(__AVX2__)
#define XXH_VECTOR XXH_AVX2
#include "hash_impl.h"
const mld__hash_impl mld__hash_avx2 = {MLD_ISA_AVX2, "avx2", h_reset, h_update, h_digest, h_oneshot};
#else
#include "hash.h"
const mld__hash_impl mld__hash_avx2 = {MLD_ISA_AVX2, "avx2", 0, 0, 0, 0}; /* not built */
#endif
