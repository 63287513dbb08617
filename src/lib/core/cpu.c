#include "cpu.h"

#include <stdlib.h>
#include <string.h>

static const char *const isa_names[MLD_ISA_COUNT] = {"scalar", "neon", "avx2", "avx512"};

const char *mld_isa_name(mld_isa isa) { return (unsigned)isa < MLD_ISA_COUNT ? isa_names[isa] : "?"; }

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
static bool x86_has(mld_isa isa)
{
	/* libgcc / compiler-rt also check that the OS saves the wide registers */
	__builtin_cpu_init();
	if (isa == MLD_ISA_AVX2)
		return __builtin_cpu_supports("avx2");
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vbmi");
}
#endif

bool mld_cpu_has(mld_isa isa)
{
	switch (isa) {
	case MLD_ISA_SCALAR:
		return true;
#if defined(__aarch64__)
	case MLD_ISA_NEON:
		return true;
#endif
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
	case MLD_ISA_AVX2:
	case MLD_ISA_AVX512:
		return x86_has(isa);
#endif
	default:
		return false;
	}
}

mld_isa mld_cpu_cap_parse(const char *value)
{
	for (int i = 0; value && i < MLD_ISA_COUNT; i++)
		if (!strcmp(value, isa_names[i]))
			return (mld_isa)i;
	return (mld_isa)(MLD_ISA_COUNT - 1);
}

mld_isa mld_cpu_cap(void) { return mld_cpu_cap_parse(getenv("MLD_CPU")); }
