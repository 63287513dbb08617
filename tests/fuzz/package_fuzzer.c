/* Fuzz target "package": one input replaces one file of a base package (fuzz.h).
 *
 * Byte 0 selects: bits 0-1 the file (0 model.mlmodel, 1 weight.bin, 2 Manifest.json,
 * 3 the whole package as a zip), bits 2-3 the base package (FZ_BASE_*), bit 7 also
 * writes the package (into memory) and checks the round trip. The rest of the input
 * is the file. (tests/cli/fuzz_package.c's layout: its corpus moved here.) */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sel = size ? data[0] : 0;
	int kind = (int)(sel & 3), which = (int)(sel >> 2 & 3);
	fz_package_input(which == 3 ? FZ_BASE_ALL : which, kind, size ? data + 1 : data, size ? size - 1 : 0,
	                 sel & 0x80);
	return 0;
}
