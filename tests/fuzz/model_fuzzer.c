/* Fuzz target "model": the input is a model.mlmodel, read with the weight.bin and
 * Manifest.json of a base package: the iOS16 one for specification version 8 or
 * less (the first field, as writers put it), else the one with every constexpr form.
 * A package that opens is also written and read back. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool old = size >= 2 && data[0] == 0x08 && data[1] <= 8; /* specificationVersion (field 1) <= 8 */
	fz_package_input(old ? FZ_BASE_IOS16 : FZ_BASE_ALL, FZ_MODEL, data, size, true);
	return 0;
}
