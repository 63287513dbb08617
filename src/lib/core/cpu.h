/* Instruction sets for the compute kernels' one-time dispatch (zstd style: look at
 * the CPU once, keep a function pointer). Each kernel family has a portable C twin,
 * the reference, and per-ISA builds compiled with their own flags, so the library
 * still runs on any CPU of its architecture. */
#ifndef MLD_CPU_H
#define MLD_CPU_H

#include <stdbool.h>

/* In increasing order of preference on their architecture. */
typedef enum mld__isa {
	MLD_ISA_SCALAR = 0, /* portable C: the reference */
	MLD_ISA_NEON,       /* AArch64 Advanced SIMD (baseline there) */
	MLD_ISA_AVX2,       /* x86-64 AVX2 */
	MLD_ISA_AVX512,     /* x86-64 AVX-512 F+BW+VBMI (Ice Lake, Zen 4 and later) */
	MLD_ISA_COUNT
} mld__isa;

/* "scalar", "neon", "avx2", "avx512" */
const char *mld__isa_name(mld__isa isa);
/* True when this CPU (and its OS) can run `isa`. */
bool mld__cpu_has(mld__isa isa);
/* The highest level the dispatchers may use: what the environment variable MLD_CPU
 * names (one of mld__isa_name's), else no limit. A level this CPU lacks falls back to
 * the best lower one it has. Tests and benchmarks use it to force a path. */
mld__isa mld__cpu_cap(void);
/* The cap an MLD_CPU value means (NULL or unknown: MLD_ISA_COUNT - 1, no limit). */
mld__isa mld__cpu_cap_parse(const char *value);

/* True when this x86-64 CPU converts fp16 in hardware (F16C, which every AVX2 CPU
 * mldedup has met also has); false elsewhere. */
bool mld__cpu_has_f16c(void);

/* Worker threads for the parallel stages (index, verification): MLD_THREADS when it
 * is a number from 1 to 64, else the online CPUs, at most 8. Results never depend on
 * it; tests set it to show that. */
unsigned mld__threads(void);

#endif
