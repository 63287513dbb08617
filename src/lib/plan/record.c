/* Recording a combine in the store (schema v3), for `mldedup explain`.
 * One short transaction after the output is in place; a store problem is only a
 * warning. */
#include "plan.h"

#include <stdlib.h>
#include <time.h>

static void bind_opt_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

int cb_record(cb_ctx *cb, const char *out_path)
{
	mld_store *st = cb->opts->store;
	if (!st || cb->opts->dry_run)
		return 0;
	char *abs = realpath(out_path, NULL);
	if (!abs)
		return mld__err(MLD_EIO, "%s: cannot resolve the output path", out_path);
	sqlite3_stmt *del = NULL, *ins_o = NULL, *ins_f = NULL, *ins_w = NULL;
	int rc;
	if ((rc = mld__store_prepare(st, &del, "DELETE FROM outputs WHERE path = ?")) ||
	    (rc = mld__store_prepare(st, &ins_o,
	                             "INSERT INTO outputs(path, mode, cos_min, mean_abs_max, max_abs_max,"
	                             " default_function, bytes_before, bytes_after, bytes_optimum, written_at)"
	                             " VALUES (?,?,?,?,?,?,?,?,?,?)")) ||
	    (rc = mld__store_prepare(st, &ins_f,
	                             "INSERT INTO output_functions(output_id, name, source_package,"
	                             " source_function, alias_of) VALUES (?,?,?,?,?)")) ||
	    (rc = mld__store_prepare(st, &ins_w,
	                             "INSERT OR REPLACE INTO output_weights(output_id, function, name, reason,"
	                             " shared_function, shared_name, compared_function, compared_name, cos,"
	                             " max_abs, mean_abs, content_digest, encoded_bytes)"
	                             " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)")) ||
	    (rc = mld__store_begin(st)))
		goto out;
	sqlite3_bind_text(del, 1, abs, -1, SQLITE_STATIC);
	if (sqlite3_step(del) != SQLITE_DONE)
		goto fail;
	const mld_combine_stats *s = cb->stats;
	sqlite3_bind_text(ins_o, 1, abs, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins_o, 2, cb->opts->strict ? "strict" : "relaxed", -1, SQLITE_STATIC);
	/* the thresholds in force (mld_combine fills in the defaults) */
	sqlite3_bind_double(ins_o, 3, cb->opts->cos_min);
	sqlite3_bind_double(ins_o, 4, cb->opts->mean_abs_max);
	if (cb->opts->max_abs_max > 0)
		sqlite3_bind_double(ins_o, 5, cb->opts->max_abs_max);
	sqlite3_bind_text(ins_o, 6, cb->srcs[cb->default_src].name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins_o, 7, (sqlite3_int64)s->bytes_before);
	sqlite3_bind_int64(ins_o, 8, (sqlite3_int64)s->bytes_after);
	sqlite3_bind_int64(ins_o, 9, (sqlite3_int64)s->bytes_optimum);
	sqlite3_bind_int64(ins_o, 10, (sqlite3_int64)time(NULL));
	if (sqlite3_step(ins_o) != SQLITE_DONE)
		goto fail;
	sqlite3_int64 oid = sqlite3_last_insert_rowid(st->db);
	for (size_t k = 0; k < cb->n_srcs; k++) {
		const cb_source *src = &cb->srcs[k];
		sqlite3_bind_int64(ins_f, 1, oid);
		sqlite3_bind_text(ins_f, 2, src->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins_f, 3, cb->pkg_paths[src->pkg], -1, SQLITE_STATIC);
		sqlite3_bind_text(ins_f, 4, cb->pkgs[src->pkg]->fns[src->fn].name, -1, SQLITE_STATIC);
		bind_opt_text(ins_f, 5, src->alias_of >= 0 ? cb->srcs[src->alias_of].name : NULL);
		if (sqlite3_step(ins_f) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(ins_f);
		sqlite3_clear_bindings(ins_f);
	}
	for (size_t i = 0; i < cb->n_ws; i++) {
		const cb_weight *w = &cb->ws[i];
		const cb_weight *p = w->placed >= 0 && w->placed != (long)i ? &cb->ws[w->placed] : NULL;
		const cb_weight *c = w->candidate >= 0 ? &cb->ws[w->candidate] : NULL;
		sqlite3_bind_int64(ins_w, 1, oid);
		sqlite3_bind_text(ins_w, 2, cb->srcs[w->src].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins_w, 3, w->w->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins_w, 4, mld_reason_name(w->reason), -1, SQLITE_STATIC);
		bind_opt_text(ins_w, 5, p ? cb->srcs[p->src].name : NULL);
		bind_opt_text(ins_w, 6, p ? p->w->name : NULL);
		bind_opt_text(ins_w, 7, c ? cb->srcs[c->src].name : NULL);
		bind_opt_text(ins_w, 8, c ? c->w->name : NULL);
		if (w->has_metrics) {
			sqlite3_bind_double(ins_w, 9, w->m.cos);
			sqlite3_bind_double(ins_w, 10, w->m.max_abs);
			sqlite3_bind_double(ins_w, 11, w->m.mean_abs);
		}
		if (w->has_content)
			sqlite3_bind_blob(ins_w, 12, w->content.bytes, 16, SQLITE_STATIC);
		sqlite3_bind_int64(ins_w, 13, (sqlite3_int64)w->w->encoded_bytes);
		if (sqlite3_step(ins_w) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(ins_w);
		sqlite3_clear_bindings(ins_w);
	}
	rc = mld__store_commit(st);
	goto out;
fail:
	rc = mld__store_err(st, "record the combine");
	mld__store_rollback(st);
out:
	sqlite3_finalize(del);
	sqlite3_finalize(ins_o);
	sqlite3_finalize(ins_f);
	sqlite3_finalize(ins_w);
	free(abs);
	return rc;
}
