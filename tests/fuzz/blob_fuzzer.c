/* Fuzz target "blob": the input is the weight.bin (blob storage v2) of the base
 * package with every constexpr form: every weight's blobs are read and decoded. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_package_input(FZ_BASE_ALL, FZ_WEIGHTS, data, size, false);
	return 0;
}
