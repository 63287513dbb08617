/* One table per statistics struct drives the human listing and the JSON object
 * (ccache's one-table idea), and every JSON document the CLI prints comes from
 * jansson with a "format" version first, so scripts can rely on both. */
#ifndef CLI_FIELDS_H
#define CLI_FIELDS_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* The version of every --json document's shape; bumped when a key changes meaning or goes. */
#define CLI_JSON_FORMAT 1

typedef enum { CLI_COUNT, CLI_BYTES } cli_unit;

typedef struct cli_field {
	const char *id;    /* JSON key: stable */
	const char *label; /* human label */
	cli_unit unit;
	size_t offset; /* of the member in its struct */
	unsigned size; /* of the member: 4 or 8 bytes, an unsigned integer */
	int verbose;   /* listed by the human output only with -v */
} cli_field;

/* A field for an unsigned integer member of `type`. */
#define CLI_FIELD(type, member, label, unit, verbose)                                                                  \
	{                                                                                                              \
#member, label, unit, offsetof(type, member), sizeof(((type *)0)->member), verbose                     \
	}

/* Value of field f of the struct at s. */
unsigned long long cli_field_value(const cli_field *f, const void *s);
/* Add every field of the NULL-id-terminated table to obj, keyed by id. */
void cli_fields_json(json_t *obj, const cli_field *fields, const void *s);
/* "label  value" lines, labels aligned, bytes in kB/MB/GB; -v fields only when verbose. */
void cli_fields_print(FILE *out, const cli_field *fields, const void *s, int verbose, const char *indent);

/* A new document: {"format": CLI_JSON_FORMAT}. */
json_t *cli_json_doc(void);
/* Print a document on stdout (indented, one trailing newline) and release it. An
 * array becomes {"format": N, key: [...]}, an object gets "format" first. */
void cli_json_emit(json_t *doc_or_value, const char *key);

/* Human size: "12.3 kB", "1.20 MB". */
const char *cli_human_bytes(char buf[32], double b);

#endif
