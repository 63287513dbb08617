#include "qout.h"

#include "config.h"

#include "fields.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int out_open_store(const cli_cmd *cmd, mld_store **st, store_mode mode)
{
	char *path;
	if (cli_store_path(cmd, &path))
		return EXIT_FAIL;
	int rc = EXIT_OK;
	if (mode == STORE_WRITE && access(path, F_OK) != 0) {
		fprintf(stderr, "mldedup %s: store %s does not exist\n", cmd->name, cli_esc(path));
		rc = EXIT_FAIL;
	} else if (mode == STORE_WRITE ? mld_store_open(st, path)
	                               : mld_store_open_readonly(st, path, mode == STORE_READ)) {
		rc = cli_fail(cmd);
	}
	free(path);
	return rc;
}

int out_fail(const cli_cmd *cmd)
{
	return mld_error_code() == MLD_EUSAGE ? cli_usage_error(cmd, "%s", mld_error_last()) : cli_fail(cmd);
}

const char *out_bytes(char buf[32], json_int_t b)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)b;
	int u = 0;
	while ((v >= 1000 || v <= -1000) && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, 32, u ? "%.2f %s" : "%.0f %s", v, units[u]);
	return buf;
}

/* Reals: 10 digits to read, else the shortest text that reads back the same. */
static char *cell(json_t *v, out_style style, bool bytes)
{
	char b[64];
	switch (json_typeof(v)) {
	case JSON_STRING: return strdup(json_string_value(v));
	case JSON_INTEGER:
		if (bytes && style == OUT_TEXT)
			return strdup(out_bytes(b, json_integer_value(v)));
		snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return strdup(b);
	case JSON_REAL:
		snprintf(b, sizeof b, "%.*g", style == OUT_TEXT ? 10 : 15, json_real_value(v));
		if (style != OUT_TEXT && strtod(b, NULL) != json_real_value(v))
			snprintf(b, sizeof b, "%.17g", json_real_value(v));
		return strdup(b);
	case JSON_NULL: return strdup(style == OUT_TEXT ? "-" : "");
	default: return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	}
}

/* TSV fields: backslash escapes for tab, newline and backslash, \xHH for other controls. */
static void put_tsv(const char *s)
{
	for (; *s; s++)
		if (*s == '\t' || *s == '\n' || *s == '\\')
			printf("\\%c", *s == '\t' ? 't' : *s == '\n' ? 'n' : '\\');
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			printf("\\x%02x", (unsigned char)*s);
		else
			putchar(*s);
}

/* The key a bare array goes under in the --json document: the command's noun. */
static const char *json_key = "rows";

void out_json(json_t *v) { cli_json_emit(json_incref(v), json_key); }

void out_rows(json_t *rows, json_t *columns, out_style style, int indent)
{
	if (style == OUT_JSON) {
		out_json(rows);
		return;
	}
	json_t *cols = columns ? json_incref(columns) : json_array();
	const char *key;
	json_t *v;
	if (!columns)
		json_object_foreach(json_array_get(rows, 0), key, v) json_array_append_new(cols, json_string(key));
	size_t nc = json_array_size(cols), nr = json_array_size(rows);
	char **cells = calloc((nr + 1) * nc + 1, sizeof *cells);
	size_t *width = calloc(nc + 1, sizeof *width);
	bool *numeric = calloc(nc + 1, sizeof *numeric);
	for (size_t c = 0; cells && width && numeric && c < nc; c++) {
		const char *name = json_string_value(json_array_get(cols, c));
		size_t len = strlen(name);
		bool bytes = (len >= 5 && !strcmp(name + len - 5, "bytes")) || !strcmp(name, "savings");
		cells[c] = strdup(name);
		for (size_t r = 0; r < nr; r++) {
			json_t *x = json_object_get(json_array_get(rows, r), name);
			numeric[c] |= json_is_number(x);
			cells[(r + 1) * nc + c] = cell(x ? x : json_null(), style, bytes);
			if (style == OUT_TEXT && cells[(r + 1) * nc + c]) { /* a name may hold ESC or a newline */
				char *e = strdup(cli_esc(cells[(r + 1) * nc + c]));
				free(cells[(r + 1) * nc + c]);
				cells[(r + 1) * nc + c] = e;
			}
		}
		for (size_t r = 0; r <= nr; r++)
			if (cells[r * nc + c] && strlen(cells[r * nc + c]) > width[c])
				width[c] = strlen(cells[r * nc + c]);
	}
	for (size_t r = style == OUT_TSV_NO_HEADER; cells && width && numeric && r <= nr; r++) {
		printf("%*s", style == OUT_TEXT ? indent : 0, "");
		for (size_t c = 0; c < nc; c++) {
			const char *s = cells[r * nc + c] ? cells[r * nc + c] : "";
			if (style != OUT_TEXT) {
				put_tsv(s);
				putchar(c + 1 < nc ? '\t' : '\n');
			} else {
				/* numbers right-aligned; no trailing blanks */
				bool last = c + 1 == nc;
				printf(numeric[c] ? "%*s" : "%-*s", last && !numeric[c] ? 0 : (int)width[c], s);
				fputs(last ? "\n" : "  ", stdout);
			}
		}
	}
	for (size_t i = 0; cells && i < (nr + 1) * nc; i++)
		free(cells[i]);
	free(cells);
	free(width);
	free(numeric);
	json_decref(cols);
}

void out_stats(json_t *stats, out_style style, bool rows)
{
	if (style == OUT_JSON && rows) {
		out_json(stats);
		return;
	}
	if (style == OUT_JSON) { /* an object keyed by id: scripts read .weights, not search rows */
		json_t *doc = cli_json_doc();
		size_t i;
		json_t *s;
		json_array_foreach(stats, i, s)
			json_object_set(doc, json_string_value(json_object_get(s, "id")), json_object_get(s, "value"));
		cli_json_emit(doc, NULL);
		return;
	}
	size_t i, w = 0;
	json_t *s;
	json_array_foreach(stats, i, s) if (strlen(json_string_value(json_object_get(s, "label"))) > w) w =
		strlen(json_string_value(json_object_get(s, "label")));
	json_array_foreach(stats, i, s)
	{
		const char *unit = json_string_value(json_object_get(s, "unit"));
		json_t *v = json_object_get(s, "value");
		char b[32];
		printf("%-*s  ", (int)w, json_string_value(json_object_get(s, "label")));
		if (!strcmp(unit, "bytes"))
			printf("%s\n", out_bytes(b, json_integer_value(v)));
		else if (!strcmp(unit, "percent"))
			printf("%.1f%%\n", json_number_value(v));
		else if (json_is_string(v))
			printf("%s\n", cli_esc(json_string_value(v)));
		else
			printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(v));
	}
}

int out_done(const cli_cmd *cmd, int rc)
{
	if (fflush(stdout) != 0 && rc == EXIT_OK) {
		fprintf(stderr, "mldedup %s: cannot write to stdout\n", cmd->name);
		return EXIT_FAIL;
	}
	return rc;
}

int out_run(const cli_cmd *cmd, int argc, char **argv, const out_cmd *c, void *ctx)
{
	cli_optstate o;
	out_style style = c->style;
	bool json = false;
	int id, rc;
	cli_opts_init(&o, cmd, argc, argv);
	while ((id = cli_opts_next(&o)) != -1) {
		if (id == OPT_JSON)
			json = true;
		else if (id == OPT_NO_HEADER)
			style = OUT_TSV_NO_HEADER;
		else if (id == '?' || !c->option)
			return EXIT_USAGE;
		else if ((rc = c->option(cmd, id, o.arg, ctx)))
			return rc;
	}
	if (json)
		style = OUT_JSON;
	json_key = c->json_key ? c->json_key : cmd->name;
	int i = cli_opts_rest(&o), n = argc - i;
	if (n < c->min_args || n > c->max_args)
		return c->max_args ? cli_usage_error(cmd, "expected %s", cmd->args)
		                   : cli_usage_error(cmd, "takes no arguments");
	mld_store *st;
	json_t *r = NULL;
	if ((rc = out_open_store(cmd, &st, c->mode)))
		return rc;
	if (c->query(&r, st, argv + i, n, ctx))
		rc = out_fail(cmd);
	else if (style == OUT_JSON && !c->print_json)
		out_json(r);
	else
		rc = c->print(r, st, style, ctx);
	json_decref(r);
	mld_store_free(st);
	return out_done(cmd, rc);
}
