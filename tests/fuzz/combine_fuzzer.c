/* Fuzz target "combine": a combine plan of several packages, planned and assembled
 * in memory (mld_combine with dry_run: facts, the sharing plan, preflight, the
 * op-set upgrade, every blob resolved and deduplicated; only the final write is
 * skipped). The packages are the three base packages (every constexpr form; iOS16;
 * two functions), any of whose model.mlmodel the input may replace.
 *
 * Input: byte 0 picks the sources (bits 0-1) and options (bit 2 strict, bit 3 no
 * preflight, bit 4 the last source is the default function); then up to three
 * parts separated by "\nMLD", a non-empty part i replacing package i's model. */
#include "fuzz.h"

#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[3] = {"/fz/all.mlpackage", "/fz/ios16.mlpackage", "/fz/twofn.mlpackage"};
	unsigned flags = size ? data[0] : 0;
	const uint8_t *parts[3];
	size_t lens[3], n = size ? fz_split(data + 1, size - 1, parts, lens, 3) : 0;
	for (int p = 0; p < 3; p++)
		fz_register(paths[p], p, (size_t)p < n && lens[p] ? FZ_MODEL : -1, (size_t)p < n ? parts[p] : NULL,
		            (size_t)p < n ? lens[p] : 0);
	static const mld_source_spec sets[4][3] = {
		{{"a", "/fz/all.mlpackage", NULL},
	         {"b", "/fz/twofn.mlpackage", "main"},
	         {"c", "/fz/twofn.mlpackage", "prefill"}},
		{{"a", "/fz/ios16.mlpackage", NULL}, {"b", "/fz/all.mlpackage", NULL}},
		{{"a", "/fz/all.mlpackage", NULL},
	         {"b", "/fz/ios16.mlpackage", NULL},
	         {"c", "/fz/twofn.mlpackage", "prefill"}},
		{{"infer", "/fz/twofn.mlpackage", "main"}, {"prefill", "/fz/twofn.mlpackage", "prefill"}},
	};
	static const size_t counts[4] = {3, 2, 3, 2};
	unsigned set = flags & 3;
	mld_combine_opts o = MLD_COMBINE_OPTS_INIT;
	o.dry_run = 1;
	o.strict = (flags & 4) != 0;
	o.no_preflight = (flags & 8) != 0;
	if (flags & 16)
		o.default_name = sets[set][counts[set] - 1].name;
	mld_combine_stats st;
	int rc = mld_combine(&st, sets[set], counts[set], "/fz/out.mlpackage", &o);
	if (rc)
		fz_check_error(rc, NULL);
	else
		FZ_ASSERT(st.functions == counts[set], "%u functions combined of %zu", st.functions, counts[set]);
	fz_reset();
	return 0;
}
