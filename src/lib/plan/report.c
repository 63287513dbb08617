/* The combine report: every decision with its metrics, as JSON or CSV
 * (chosen by the file's extension), written atomically. */
#include "../core/atomic.h"
#include "../core/dtype.h"
#include "plan.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcasecmp(s + a - b, suf);
}

static void csv_field(mld__buf *b, const char *s)
{
	bool quote = strpbrk(s, ",\"\n") != NULL;
	if (quote)
		mld__buf_append(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"')
			mld__buf_append(b, "\"", 1);
		mld__buf_append(b, s, 1);
	}
	if (quote)
		mld__buf_append(b, "\"", 1);
}

static int atomic_write(const char *path, const void *data, size_t len)
{
	mld__afile *f;
	int rc = mld__afile_open(&f, path, 0);
	if (!rc && !(rc = mld__afile_write(f, data, len)))
		rc = mld__afile_commit(f);
	mld__afile_free(f);
	return rc;
}

int cb_report(cb_ctx *cb, const char *out_path)
{
	const char *path = cb->opts->report_path;
	bool csv = ends_with(path, ".csv");
	if (!csv && !ends_with(path, ".json"))
		return mld__err(MLD_EUSAGE, "%s: the report must end in .json or .csv", path);
	mld__buf b = {0};
	json_t *rows = json_array();
	if (csv) {
		const char *hdr = "function,weight,reason,shared_with_function,shared_with_weight,compared_function,"
				  "compared_weight,cos,max_abs,mean_abs,decision_reused,encoded_bytes,chain\n";
		mld__buf_append(&b, hdr, strlen(hdr));
	}
	for (size_t i = 0; i < cb->n_ws; i++) {
		const cb_weight *w = &cb->ws[i];
		const cb_weight *p = w->placed >= 0 && w->placed != (long)i ? &cb->ws[w->placed] : NULL;
		const cb_weight *c = w->candidate >= 0 ? &cb->ws[w->candidate] : NULL;
		if (csv) {
			char num[200];
			const char *f[7] = {cb->srcs[w->src].name,      w->w->name,
			                    mld_reason_name(w->reason), p ? cb->srcs[p->src].name : "",
			                    p ? p->w->name : "",        c ? cb->srcs[c->src].name : "",
			                    c ? c->w->name : ""};
			for (int k = 0; k < 7; k++) {
				csv_field(&b, f[k]);
				mld__buf_append(&b, ",", 1);
			}
			if (w->has_metrics)
				snprintf(num, sizeof num, "%.9f,%.9g,%.9g,%s,", w->m.cos, w->m.max_abs, w->m.mean_abs,
				         w->reused ? "true" : "false");
			else
				snprintf(num, sizeof num, ",,,,");
			mld__buf_append(&b, num, strlen(num));
			snprintf(num, sizeof num, "%llu,", (unsigned long long)w->w->encoded_bytes);
			mld__buf_append(&b, num, strlen(num));
			csv_field(&b, w->w->chain);
			mld__buf_append(&b, "\n", 1);
			continue;
		}
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I}", "function", cb->srcs[w->src].name, "weight", w->w->name,
		                      "reason", mld_reason_name(w->reason), "chain", w->w->chain, "encoded_bytes",
		                      (json_int_t)w->w->encoded_bytes);
		if (p)
			json_object_set_new(
				o, "shared_with",
				json_pack("{s:s,s:s}", "function", cb->srcs[p->src].name, "weight", p->w->name));
		if (c)
			json_object_set_new(
				o, "compared_with",
				json_pack("{s:s,s:s}", "function", cb->srcs[c->src].name, "weight", c->w->name));
		if (w->has_metrics)
			json_object_set_new(o, "metrics",
			                    json_pack("{s:f,s:f,s:f,s:b}", "cos", w->m.cos, "max_abs", w->m.max_abs,
			                              "mean_abs", w->m.mean_abs, "decision_reused", w->reused));
		json_array_append_new(rows, o);
	}
	int rc;
	if (csv) {
		rc = atomic_write(path, b.data, b.len);
	} else {
		const mld_combine_stats *s = cb->stats;
		json_t *reasons = json_object();
		for (int r = 0; r < MLD_R_COUNT; r++)
			json_object_set_new(reasons, mld_reason_name((mld_reason)r),
			                    json_integer((json_int_t)s->by_reason[r]));
		json_t *fns = json_array();
		for (size_t k = 0; k < cb->n_srcs; k++) {
			const cb_source *src = &cb->srcs[k];
			json_array_append_new(fns, json_pack("{s:s,s:s,s:s,s:b}", "name", src->name, "package",
			                                     cb->pkg_paths[src->pkg], "source_function",
			                                     cb->pkgs[src->pkg]->fns[src->fn].name, "alias",
			                                     src->alias_of >= 0));
		}
		json_t *root = json_pack(
			"{s:s,s:s,s:b,s:s,s:o,s:{s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:I},s:o}", "output", out_path, "mode",
			cb->opts->strict ? "strict" : "relaxed", "dry_run", cb->opts->dry_run, "default_function",
			cb->srcs[cb->default_src].name, "functions", fns, "summary", "weights", (json_int_t)s->weights,
			"by_reason", reasons, "bytes_before", (json_int_t)s->bytes_before, "bytes_after",
			(json_int_t)s->bytes_after, "bytes_optimum", (json_int_t)s->bytes_optimum, "decisions_computed",
			(json_int_t)s->decisions_computed, "decisions_reused", (json_int_t)s->decisions_reused,
			"weights_dequantized", (json_int_t)s->weights_dequantized, "decisions", rows);
		rows = NULL;
		char *text = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
		json_decref(root);
		rc = text ? atomic_write(path, text, strlen(text)) : mld__err(MLD_ENOMEM, "cannot build the report");
		free(text);
	}
	json_decref(rows);
	mld__buf_free(&b);
	return rc;
}
