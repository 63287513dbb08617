/* XXH3 with its AVX-512 code path: this file alone is compiled with -mavx512f. */
#if defined(__AVX512F__)
#define XXH_VECTOR XXH_AVX512
#include "hash_impl.h"
const mld__hash_impl mld__hash_avx512 = {MLD_ISA_AVX512, "avx512", h_reset, h_update, h_digest, h_oneshot};
#else
#include "hash.h"
const mld__hash_impl mld__hash_avx512 = {MLD_ISA_AVX512, "avx512", 0, 0, 0, 0}; /* not built */
#endif
