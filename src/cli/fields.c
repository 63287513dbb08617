#include "fields.h"

#include <string.h>

unsigned long long cli_field_value(const cli_field *f, const void *s)
{
	const char *p = (const char *)s + f->offset;
	if (f->size == 4) {
		unsigned v;
		memcpy(&v, p, 4);
		return v;
	}
	unsigned long long v;
	memcpy(&v, p, 8);
	return v;
}

void cli_fields_json(json_t *obj, const cli_field *fields, const void *s)
{
	for (const cli_field *f = fields; f->id; f++)
		json_object_set_new(obj, f->id, json_integer((json_int_t)cli_field_value(f, s)));
}

const char *cli_human_bytes(char buf[32], double b)
{
	if (b >= 1e9)
		snprintf(buf, 32, "%.2f GB", b / 1e9);
	else if (b >= 1e6)
		snprintf(buf, 32, "%.2f MB", b / 1e6);
	else if (b >= 1e3)
		snprintf(buf, 32, "%.1f kB", b / 1e3);
	else
		snprintf(buf, 32, "%.0f B", b);
	return buf;
}

void cli_fields_print(FILE *out, const cli_field *fields, const void *s, int verbose, const char *indent)
{
	int w = 0;
	for (const cli_field *f = fields; f->id; f++)
		if ((!f->verbose || verbose) && (int)strlen(f->label) > w)
			w = (int)strlen(f->label);
	for (const cli_field *f = fields; f->id; f++) {
		if (f->verbose && !verbose)
			continue;
		char b[32];
		unsigned long long v = cli_field_value(f, s);
		if (f->unit == CLI_BYTES)
			fprintf(out, "%s%-*s  %s\n", indent, w, f->label, cli_human_bytes(b, (double)v));
		else
			fprintf(out, "%s%-*s  %llu\n", indent, w, f->label, v);
	}
}

json_t *cli_json_doc(void) { return json_pack("{s:i}", "format", CLI_JSON_FORMAT); }

void cli_json_emit(json_t *v, const char *key)
{
	json_t *doc = v;
	if (!json_is_object(v) || !json_object_get(v, "format")) {
		doc = cli_json_doc();
		if (json_is_object(v))
			json_object_update(doc, v); /* "format" stays the first key */
		else
			json_object_set(doc, key ? key : "items", v);
		json_decref(v);
	}
	json_dumpf(doc, stdout, JSON_INDENT(1));
	putchar('\n');
	json_decref(doc);
}
