/* Fuzz target "zip": the input is a zip holding a package, read through libzip
 * from memory (zip_source_buffer_create); what opens is also written and read back. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_package_input(FZ_BASE_ALL, FZ_ZIP, data, size, true);
	return 0;
}
