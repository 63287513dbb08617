/* What combine-like commands (combine, anemll, align) print: statistics as JSON. */
#include "opts.h"

#include <jansson.h>

json_t *cli_combine_stats_json(const char *out, const mld_combine_stats *s)
{
	json_t *by = json_object();
	for (int r = 0; by && r < MLD_R_COUNT; r++)
		json_object_set_new(by, mld_reason_name((mld_reason)r), json_integer((json_int_t)s->by_reason[r]));
	return json_pack("{s:s?, s:I, s:I, s:o*, s:I, s:I, s:I, s:I, s:I, s:I}", "output", out, "functions",
	                 (json_int_t)s->functions, "weights", (json_int_t)s->weights, "by_reason", by, "bytes_before",
	                 (json_int_t)s->bytes_before, "bytes_after", (json_int_t)s->bytes_after, "bytes_optimum",
	                 (json_int_t)s->bytes_optimum, "decisions_computed", (json_int_t)s->decisions_computed,
	                 "decisions_reused", (json_int_t)s->decisions_reused, "weights_dequantized",
	                 (json_int_t)s->weights_dequantized);
}
