/* Fuzz target "manifest": the input is the Manifest.json of the base package with
 * every constexpr form. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_package_input(FZ_BASE_ALL, FZ_MANIFEST, data, size, false);
	return 0;
}
