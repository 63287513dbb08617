#include "cpu.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <cpuid.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const isa_names[MLD_ISA_COUNT] = {"scalar", "neon", "avx2", "avx512"};

const char *mld__isa_name(mld__isa isa) { return (unsigned)isa < MLD_ISA_COUNT ? isa_names[isa] : "?"; }

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
static bool x86_has(mld__isa isa)
{
	/* libgcc / compiler-rt also check that the OS saves the wide registers */
	__builtin_cpu_init();
	if (isa == MLD_ISA_AVX2)
		return __builtin_cpu_supports("avx2");
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vbmi");
}
#endif

bool mld__cpu_has(mld__isa isa)
{
	switch (isa) {
	case MLD_ISA_SCALAR: return true;
#if defined(__aarch64__)
	case MLD_ISA_NEON: return true;
#endif
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
	case MLD_ISA_AVX2:
	case MLD_ISA_AVX512: return x86_has(isa);
#endif
	default: return false;
	}
}

bool mld__cpu_has_f16c(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
	/* cpuid rather than __builtin_cpu_supports("f16c"): older clangs (Xcode's
	 * among them) do not know that feature name. F16C is VEX-encoded, so it
	 * also needs the OS to save the AVX state, which the AVX2 check covers. */
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return false;
	return (c & (1u << 29)) && x86_has(MLD_ISA_AVX2);
#else
	return false;
#endif
}

mld__isa mld__cpu_cap_parse(const char *value)
{
	for (int i = 0; value && i < MLD_ISA_COUNT; i++)
		if (!strcmp(value, isa_names[i]))
			return (mld__isa)i;
	return (mld__isa)(MLD_ISA_COUNT - 1);
}

mld__isa mld__cpu_cap(void) { return mld__cpu_cap_parse(getenv("MLD_CPU")); }

unsigned mld__threads(void)
{
	const char *e = getenv("MLD_THREADS");
	if (e && *e) {
		char *end;
		long v = strtol(e, &end, 10);
		if (!*end && v >= 1 && v <= 64)
			return (unsigned)v;
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 8 ? 8 : (unsigned)n;
}
