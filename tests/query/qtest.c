/* qtest: JSON helpers for the query tests, so they need no jq or python.
 *
 *   qtest get FILE PATH...     each PATH's value: steps joined by '.', a step is a key,
 *                              an array index, [KEY=VALUE] (the first element whose KEY
 *                              is VALUE) or # (length); strings print raw
 *   qtest keys FILE            the top-level keys of the object, one a line, in order
 *   qtest groups DUPES.json    "digest<TAB>PKG:FUNC:NAME" per weight of each dupes group
 *   qtest near DUPES.json      "a<TAB>b" per near-duplicate pair
 *   qtest ref content|encoding REF.json...
 *                              one key per weight: its content (dtype, shape, values
 *                              hash) or its encoding (op, dtype, shape, sorted blobs)
 *   qtest ref file_bytes REF.json...   the sum of their weight.bin sizes
 *   qtest pairs EXPECTED.json  "relation<TAB>group<TAB>function<TAB>name<TAB>A<TAB>B": every
 *                              non-anchor weight of every group, A and B the anchor's and
 *                              the member's PKG:main:NAME (op names from the ref files)
 */
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *load(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	if (!j) {
		fprintf(stderr, "qtest: %s:%d: %s\n", path, e.line, e.text);
		exit(1);
	}
	return j;
}

static const char *s(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

static void print(json_t *v)
{
	if (json_is_string(v)) {
		puts(json_string_value(v));
	} else {
		char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		puts(t ? t : "");
		free(t);
	}
}

static json_t *step(json_t *v, const char *st)
{
	char key[256], val[1024];
	if (!strcmp(st, "#"))
		return json_integer((json_int_t)(json_is_array(v) ? json_array_size(v) : json_object_size(v)));
	if (sscanf(st, "[%255[^=]=%1023[^]]]", key, val) == 2) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
		{
			json_t *k = json_object_get(e, key);
			char *t = json_is_string(k) ? strdup(json_string_value(k)) : json_dumps(k, JSON_ENCODE_ANY);
			int hit = t && !strcmp(t, val);
			free(t);
			if (hit)
				return json_incref(e);
		}
		return NULL;
	}
	char *end;
	long i = strtol(st, &end, 10);
	if (json_is_array(v) && *st && !*end)
		return json_incref(json_array_get(v, (size_t)i));
	return json_incref(json_object_get(v, st));
}

static int get(const char *file, char **paths, int n)
{
	json_t *root = load(file);
	int rc = 0;
	for (int p = 0; p < n; p++) {
		json_t *v = json_incref(root);
		char *copy = strdup(paths[p]);
		for (char *t = copy, *end; t && *t && v; t = end) {
			/* steps split at '.', but not inside [KEY=VALUE] */
			for (end = t; *end && *end != '.'; end++)
				if (*end == '[')
					end += strcspn(end, "]") - 1;
			end = *end ? (*end = 0, end + 1) : NULL;
			json_t *next = step(v, t);
			json_decref(v);
			v = next;
		}
		if (v)
			print(v);
		else
			rc = 1, fprintf(stderr, "qtest: %s: no %s\n", file, paths[p]);
		json_decref(v);
		free(copy);
	}
	json_decref(root);
	return rc;
}

static int groups(const char *file)
{
	json_t *r = load(file), *g, *w;
	size_t i, j;
	json_array_foreach(json_object_get(r, "groups"), i, g) json_array_foreach(json_object_get(g, "weights"), j, w)
		printf("%s\t%s:%s:%s\n", s(g, "digest"), s(w, "package"), s(w, "function"), s(w, "name"));
	json_decref(r);
	return 0;
}

static int near(const char *file)
{
	json_t *r = load(file), *p;
	size_t i;
	json_array_foreach(json_object_get(r, "near"), i, p) printf("%s\t%s\n", s(p, "a"), s(p, "b"));
	json_decref(r);
	return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void encoding_key(json_t *w)
{
	char *shape = json_dumps(json_object_get(w, "shape"), JSON_COMPACT), *blobs[16];
	size_t n = 0, i;
	json_t *b;
	json_array_foreach(json_object_get(w, "blobs"), i, b) if (n < 16)
	{
		char *bs = json_dumps(json_object_get(b, "shape"), JSON_COMPACT);
		size_t len = strlen(s(b, "param")) + strlen(s(b, "mil_dtype")) + strlen(s(b, "sha256_stored")) +
		             strlen(bs) + 8;
		blobs[n] = malloc(len);
		snprintf(blobs[n++], len, "%s/%s/%s/%s", s(b, "param"), s(b, "mil_dtype"), bs, s(b, "sha256_stored"));
		free(bs);
	}
	qsort(blobs, n, sizeof *blobs, cmp_str);
	printf("%s %s %s", s(w, "op_type"), s(w, "dtype"), shape);
	for (i = 0; i < n; i++) {
		printf(" %s", blobs[i]);
		free(blobs[i]);
	}
	putchar('\n');
	free(shape);
}

static int ref(const char *kind, char **files, int n)
{
	long long total = 0;
	for (int f = 0; f < n; f++) {
		json_t *r = load(files[f]), *fn, *w;
		const char *name;
		size_t i;
		total += json_integer_value(json_object_get(json_object_get(r, "weight_bin"), "size"));
		json_t *fns = json_object_get(r, "functions");
		json_object_foreach(fns, name, fn) json_array_foreach(json_object_get(fn, "weights"), i, w)
		{
			if (!strcmp(kind, "encoding")) {
				encoding_key(w);
			} else if (!strcmp(kind, "content")) {
				char *shape = json_dumps(json_object_get(w, "shape"), JSON_COMPACT);
				printf("%s %s %s%s\n", s(w, "dtype"), shape, s(w, "sha256_fp16"),
				       s(w, "sha256_values"));
				free(shape);
			}
		}
		json_decref(r);
	}
	if (!strcmp(kind, "file_bytes"))
		printf("%lld\n", total);
	return 0;
}

/* The op name of logical weight `logical` in the package whose ref file is beside it. */
static const char *op_name(json_t *refs, const char *dir, const char *pkg, const char *logical)
{
	json_t *r = json_object_get(refs, pkg), *w;
	if (!r) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%.*s.ref.json", dir, (int)(strlen(pkg) - strlen(".mlpackage")), pkg);
		json_object_set_new(refs, pkg, r = load(path));
	}
	size_t i;
	json_array_foreach(json_object_get(json_object_get(json_object_get(r, "functions"), "main"), "weights"), i,
	                   w) if (!strcmp(s(w, "logical_weight"), logical)) return s(w, "name");
	return logical;
}

static int pairs(const char *file)
{
	char *copy = strdup(file), real[PATH_MAX];
	const char *dir = realpath(dirname(copy), real) ? real : ".";
	json_t *e = load(file), *refs = json_object(), *g, *w, *m, *mem;
	size_t i, k;
	const char *logical, *fn;
	json_array_foreach(json_object_get(e, "groups"), i, g)
	{
		const char *anchor = NULL;
		json_t *pkgs = json_object();
		json_array_foreach(json_object_get(g, "members"), k, mem)
		{
			json_object_set(pkgs, s(mem, "function"), json_object_get(mem, "package"));
			if (!strcmp(s(mem, "function"), s(g, "anchor_function")))
				anchor = s(mem, "package");
		}
		json_t *weights = json_object_get(g, "weights");
		json_object_foreach(weights, logical, w) json_object_foreach(json_object_get(w, "members"), fn, m)
		{
			const char *pkg = s(pkgs, fn), *name = op_name(refs, dir, pkg, logical);
			printf("%s\t%s\t%s\t%s\t%s/%s:main:%s\t%s/%s:main:%s\n", s(m, "relation"), s(g, "group"), fn,
			       name, dir, anchor, op_name(refs, dir, anchor, logical), dir, pkg, name);
		}
		json_decref(pkgs);
	}
	json_decref(refs);
	json_decref(e);
	free(copy);
	return 0;
}

static int keys(const char *file)
{
	json_t *r = load(file), *v;
	const char *k;
	if (!json_is_object(r))
		return fprintf(stderr, "qtest: %s: not a JSON object\n", file), 1;
	json_object_foreach(r, k, v) puts(k);
	json_decref(r);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "keys"))
		return keys(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "get"))
		return get(argv[2], argv + 3, argc - 3);
	if (argc == 3 && !strcmp(argv[1], "groups"))
		return groups(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "near"))
		return near(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "ref"))
		return ref(argv[2], argv + 3, argc - 3);
	if (argc == 3 && !strcmp(argv[1], "pairs"))
		return pairs(argv[2]);
	fprintf(stderr, "usage: qtest get|keys|groups|near|ref|pairs ... (see qtest.c)\n");
	return 2;
}
