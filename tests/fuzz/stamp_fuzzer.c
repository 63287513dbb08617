/* Fuzz target "stamp": build stamps and the files that name paths for Ninja and Make.
 *
 *  - mld_package_stamp of an in-memory package (a base package with one file
 *    replaced, under a package path from the input): a failure names the package;
 *    the stamp is deterministic and well formed, and its file list names files of
 *    the package.
 *  - The depfile of that list (src/cli/buildfile.c, bf_depfile_text), read back
 *    with Ninja's depfile rules: the same target and the same files, or the path
 *    is one a depfile cannot hold (a newline).
 *  - A path on a Ninja build line (bf_ninja_path), read back with Ninja's lexer
 *    rules; a shell word (bf_shell_word) read back through Ninja's $$ and the
 *    shell's quoting; bf_make_plain only for paths Make takes as they are.
 *
 * Input: byte 0, bits 0-1 the file replaced (3: none), bits 2-3 the base package;
 * then parts separated by "\nMLD": the file, the package path (under /fz/), the
 * depfile's target. */
#define _GNU_SOURCE
#include "fuzz.h"

#include "buildfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *cstr(const uint8_t *p, size_t n)
{
	char *s = strndup((const char *)p, n); /* stops at a NUL: paths are C strings */
	FZ_ASSERT(s, "out of memory");
	return s;
}

static char *text_of(void (*emit)(FILE *, const char *, const char *), const char *a, const char *b)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	FZ_ASSERT(f, "open_memstream");
	emit(f, a, b);
	fclose(f);
	return buf;
}

static void emit_depfile(FILE *f, const char *target, const char *files) { bf_depfile_text(f, target, files); }
static void emit_ninja(FILE *f, const char *path, const char *unused) { (void)unused, bf_ninja_path(f, path); }
static void emit_shell(FILE *f, const char *word, const char *unused) { (void)unused, bf_shell_word(f, word); }

/* ---- Ninja's depfile rules (ninja 1.10+, src/depfile_parser.in.cc) -------------------- */

typedef struct names {
	char **v;
	size_t n;
} names;

static void push(names *l, const char *s, size_t n)
{
	l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
	FZ_ASSERT(l->v, "out of memory");
	l->v[l->n++] = strndup(s, n);
}

static void names_free(names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static bool plain_depfile_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80 ||
	       strchr("+,/_:.~()}{%=@[]!-", c);
}

/* The targets and inputs of a depfile as Ninja reads it: false if Ninja refuses it. */
static bool ninja_depfile(const char *text, names *targets, names *ins)
{
	const char *in = text, *end = text + strlen(text);
	char *buf = malloc(strlen(text) + 1);
	FZ_ASSERT(buf, "out of memory");
	bool parsing_targets = true;
	while (in < end) {
		size_t out = 0;
		for (;;) {
			const char *s = in;
			if (*s == '\\') { /* runs of backslashes */
				size_t k = 0;
				while (s[k] == '\\')
					k++;
				char c = s[k];
				if (c == ' ') {
					if (k % 2) { /* 2N+1 backslashes + space: N backslashes + space */
						memset(buf + out, '\\', k / 2), out += k / 2;
						buf[out++] = ' ';
						in = s + k + 1;
						continue;
					}
					/* 2N backslashes + space: 2N backslashes, end of name */
					memset(buf + out, '\\', k), out += k;
					in = s + k + 1;
					break;
				}
				if (c == '#') { /* de-escape '#', keep the other backslashes */
					memset(buf + out, '\\', k - 1), out += k - 1;
					buf[out++] = '#';
					in = s + k + 1;
					continue;
				}
				if (c == ':' &&
				    (s[k + 1] == 0 || strchr(" \r\n\t", s[k + 1]))) { /* text, then the end */
					memcpy(buf + out, s, k + 1), out += k + 1;
					in = s + k + 2;
					if (!s[k + 1])
						in = s + k + 1;
					break;
				}
				if (c == ':') {
					memset(buf + out, '\\', k - 1), out += k - 1;
					buf[out++] = ':';
					in = s + k + 1;
					continue;
				}
				if (k == 1 && (c == '\n' || (c == '\r' && s[2] == '\n'))) { /* a line continuation */
					in = s + (c == '\n' ? 2 : 3);
					break;
				}
				if (c && c != '\r' && c != '\n') { /* backslashes and the next char, as they are */
					memcpy(buf + out, s, k + 1), out += k + 1;
					in = s + k + 1;
					continue;
				}
				/* backslashes before a newline or the end: the "any other char" rule */
				in = s + 1;
				break;
			}
			if (s[0] == '$' && s[1] == '$') {
				buf[out++] = '$';
				in = s + 2;
				continue;
			}
			if (*s && plain_depfile_char((unsigned char)*s)) {
				while (*in && plain_depfile_char((unsigned char)*in))
					buf[out++] = *in++;
				continue;
			}
			if (!*s) {
				in = s + 1;
				break;
			}
			in = s + 1; /* any other char (whitespace): ends the name */
			break;
		}
		size_t len = out;
		bool is_target = parsing_targets;
		if (len > 0 && buf[len - 1] == ':') {
			len--;
			parsing_targets = false;
		}
		if (len == 0)
			continue;
		if (is_target) {
			push(targets, buf, len);
		} else {
			push(ins, buf, len);
		}
	}
	free(buf);
	return !parsing_targets;
}

/* ---- Ninja's manifest lexer for a path (src/lexer.in.cc, ReadEvalString) ---------------- */

/* The path a build line reads from `text`; false if Ninja would stop early or refuse. */
static bool ninja_path(const char *text, char **out)
{
	size_t n = strlen(text), o = 0;
	char *buf = malloc(n + 1);
	FZ_ASSERT(buf, "out of memory");
	for (size_t i = 0; i < n;) {
		char c = text[i];
		if (c == '$') {
			char d = text[i + 1];
			if (d == '$' || d == ' ' || d == ':') {
				buf[o++] = d;
				i += 2;
				continue;
			}
			free(buf);
			return false; /* a variable, a line continuation, or a bad $-escape */
		}
		if (c == ' ' || c == ':' || c == '|' || c == '\n' || c == '\r') {
			free(buf);
			return false; /* the path would end here */
		}
		buf[o++] = c;
		i++;
	}
	buf[o] = 0;
	*out = buf;
	return true;
}

/* A shell word as bf_shell_word writes it: Ninja turns $$ into $, then the shell
 * removes the quotes. */
static char *unshell(const char *w)
{
	size_t n = strlen(w), o = 0;
	char *ninja = malloc(n + 1), *sh = malloc(n + 1);
	FZ_ASSERT(ninja && sh, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (w[i] == '$' && w[i + 1] == '$')
			i++;
		ninja[o++] = w[i];
	}
	ninja[o] = 0;
	size_t k = 0;
	bool quoted = false;
	for (size_t i = 0; i < o; i++) {
		if (ninja[i] == '\'') {
			quoted = !quoted;
			continue;
		}
		if (!quoted && ninja[i] == '\\' && i + 1 < o) {
			sh[k++] = ninja[++i];
			continue;
		}
		sh[k++] = ninja[i];
	}
	sh[k] = 0;
	free(ninja);
	FZ_ASSERT(!quoted, "shell word %s leaves a quote open", w);
	return sh;
}

static void check_paths(const char *path)
{
	/* a Ninja build path */
	char *nt = text_of(emit_ninja, path, NULL), *back = NULL;
	bool ok = ninja_path(nt, &back);
	if (!bf_ninja_unnameable(path))
		FZ_ASSERT(ok && !strcmp(back, path), "Ninja reads the path \"%s\" written as \"%s\" as \"%s\"", path,
		          nt, ok ? back : "(an error)");
	free(back);
	free(nt);
	/* a shell word in a Ninja variable */
	char *sw = text_of(emit_shell, path, NULL);
	char *un = unshell(sw);
	FZ_ASSERT(!strcmp(un, path), "the shell word for \"%s\" is \"%s\", read back as \"%s\"", path, sw, un);
	FZ_ASSERT(!strpbrk(sw, "\n\r") || strpbrk(path, "\n\r"), "the shell word \"%s\" has a line break", sw);
	free(un);
	free(sw);
	/* Make takes only plain paths */
	if (bf_make_plain(path))
		for (const char *p = path; *p; p++)
			FZ_ASSERT(strchr("._/+=@~-", *p) || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			                  (*p >= '0' && *p <= '9'),
			          "bf_make_plain accepts \"%s\"", path);
}

static void check_depfile(const char *target, const char *files)
{
	char *text = text_of(emit_depfile, target, files);
	names targets = {0}, ins = {0};
	bool ok = ninja_depfile(text, &targets, &ins);
	names want = {0};
	for (const char *p = files, *nl; (nl = strchr(p, '\n')); p = nl + 1)
		push(&want, p, (size_t)(nl - p));
	bool representable = !bf_depfile_unsafe(target, true);
	for (size_t i = 0; i < want.n; i++)
		representable &= !bf_depfile_unsafe(want.v[i], false);
	if (representable) {
		FZ_ASSERT(ok, "Ninja refuses the depfile for target \"%s\": %s", target, text);
		FZ_ASSERT(targets.n == 1 && !strcmp(targets.v[0], target),
		          "the depfile's target \"%s\" reads as \"%s\" (%zu targets): %s", target,
		          targets.n ? targets.v[0] : "", targets.n, text);
		FZ_ASSERT(ins.n == want.n, "the depfile names %zu files, Ninja reads %zu: %s", want.n, ins.n, text);
		for (size_t i = 0; i < want.n; i++)
			FZ_ASSERT(!strcmp(ins.v[i], want.v[i]), "the depfile's file \"%s\" reads as \"%s\"", want.v[i],
			          ins.v[i]);
	}
	names_free(&targets);
	names_free(&ins);
	names_free(&want);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sel = size ? data[0] : 3;
	const uint8_t *parts[3] = {NULL, NULL, NULL};
	size_t lens[3] = {0, 0, 0};
	if (size)
		fz_split(data + 1, size - 1, parts, lens, 3);
	char *name = cstr(parts[1] ? parts[1] : (const uint8_t *)"", lens[1]);
	char *target = cstr(parts[2] ? parts[2] : (const uint8_t *)"", lens[2]);
	char *path = NULL;
	FZ_ASSERT(asprintf(&path, "/fz/%s", name) > 0, "out of memory");
	int kind = (int)(sel & 3), which = (int)(sel >> 2 & 3);
	fz_register(path, which == 3 ? FZ_BASE_ALL : which, kind == 3 ? -1 : kind, parts[0], lens[0]);
	char *stamp = NULL, *files = NULL, *again = NULL;
	int rc = mld_package_stamp(&stamp, &files, path, NULL);
	if (rc) {
		fz_check_error(rc, path);
	} else {
		FZ_ASSERT(!mld_package_stamp(&again, NULL, path, NULL) && !strcmp(stamp, again),
		          "the stamp is not deterministic");
		FZ_ASSERT(!strncmp(stamp, "mldedup stamp 2\nmodel ", 22) && strstr(stamp, "\nweights "),
		          "a malformed stamp: %s", stamp);
		size_t root = strlen(path); /* the list names files under the path without its trailing slashes */
		while (root > 1 && path[root - 1] == '/')
			root--;
		for (const char *p = files, *nl; (nl = strchr(p, '\n')); p = nl + 1)
			FZ_ASSERT(!strncmp(p, path, root) && (p[root] == '/' || p + root == nl),
			          "the stamp's file list names %.*s, outside %s", (int)(nl - p), p, path);
		check_depfile(*target ? target : "out.stamp", files);
	}
	check_paths(name);
	check_paths(target);
	free(stamp), free(files), free(again), free(path), free(name), free(target);
	fz_reset();
	return 0;
}
