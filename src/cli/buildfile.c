#include "buildfile.h"
#include "opts.h"

#include "mldedup.h"

#include <stdlib.h>
#include <string.h>

/* Write s, putting `esc` before each char of `special` and doubling '$'. */
static void escaped(FILE *f, const char *s, const char *special, char esc)
{
	for (; *s; s++) {
		if (*s == '$')
			fputc('$', f);
		else if (strchr(special, *s))
			fputc(esc, f);
		fputc(*s, f);
	}
}

/* Ninja's depfile parser (and Make's, for the plain paths Make builds take) reads a
 * name as runs of [A-Za-z0-9+,/_:.~()}{%=@[]!-] and bytes >= 0x80, "$$" for '$', and
 * backslash runs: k backslashes then ' ' are 2k+1 of them, then '#' or ':' k+1 of
 * them; before anything else they stand for themselves. Any other character ends the
 * name, so it cannot be written (bf_depfile_unsafe says which). */
static bool depfile_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80 ||
	       (c && strchr("+,/_:.~()}{%=@[]!-", c));
}

void bf_depfile_path(FILE *f, const char *path)
{
	for (const char *s = path; *s;) {
		size_t k = strspn(s, "\\");
		char c = s[k];
		size_t n = c == ' ' ? 2 * k + 1 : (c == '#' || (c == ':' && k)) ? k + 1 : k;
		for (size_t i = 0; i < n; i++)
			fputc('\\', f);
		if (c == '$')
			fputc('$', f);
		if (c)
			fputc(c, f);
		s += k + (c != 0);
	}
}

const char *bf_depfile_unsafe(const char *path, bool target)
{
	if (!*path)
		return "it is empty";
	for (const char *s = path; *s;) {
		size_t k = strspn(s, "\\");
		unsigned char c = (unsigned char)s[k];
		if (k && c == '$')
			return "a backslash before '$'";
		if (!c && k % 2 && !target)
			return "an odd number of trailing backslashes";
		if (c == '\n' || c == '\r')
			return "a line break";
		if (c && c != ' ' && c != '#' && c != '$' && !depfile_plain(c))
			return "a character a depfile cannot hold (only letters, digits, spaces and "
			       "+,/_:.~()}{%=@[]!-#$)";
		s += k + (c != 0);
	}
	if (!target && path[strlen(path) - 1] == ':')
		return "a trailing ':'";
	return NULL;
}

void bf_ninja_path(FILE *f, const char *path) { escaped(f, path, " :", '$'); }

const char *bf_ninja_unnameable(const char *path)
{
	for (const char *s = path; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n' || c == '\r')
			return "a newline";
		if (c == '\t')
			return "a tab";
		if (c < 0x20 || c == 0x7f)
			return "a control character";
		if (c == '|')
			return "'|'";
	}
	return NULL;
}

const char *const bf_package_files[] = {"Manifest.json", "Data/com.apple.CoreML/model.mlmodel",
                                        "Data/com.apple.CoreML/weights/weight.bin", NULL};

static bool plain(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("._/+=@~-", *s) || strchr(extra, *s)))
			return false;
	return true;
}

bool bf_make_plain(const char *path) { return *path && plain(path, ""); }

void bf_shell_word(FILE *f, const char *s)
{
	if (*s && plain(s, ",:%"))
		fputs(s, f);
	else {
		fputc('\'', f);
		for (; *s; s++)
			if (*s == '\'')
				fputs("'\\''", f);
			else if (*s == '$')
				fputs("$$", f);
			else
				fputc(*s, f);
		fputc('\'', f);
	}
}

int bf_write_depfile(const char *path, const char *target, const char *files)
{
	const char *why = bf_depfile_unsafe(target, true), *bad = target;
	for (const char *p = files, *nl; !why && (nl = strchr(p, '\n')); p = nl + 1) {
		char *one = strndup(p, (size_t)(nl - p));
		if (one && (why = bf_depfile_unsafe(one, false)))
			bad = strstr(files, one); /* a stable copy for the message */
		free(one);
		if (why) {
			char *one_bad = strndup(bad, strcspn(bad, "\n"));
			fprintf(stderr, "mldedup: %s: %s: a depfile cannot name this path: %s\n", cli_esc(path),
			        cli_esc(one_bad ? one_bad : "?"), why);
			free(one_bad);
			return -1;
		}
	}
	if (why) {
		fprintf(stderr, "mldedup: %s: %s: a depfile cannot name this path: %s\n", cli_esc(path), cli_esc(bad),
		        why);
		return -1;
	}
	bf_text d;
	FILE *f = bf_open(&d);
	if (!f)
		return -1;
	bf_depfile_text(f, target, files);
	return bf_commit(&d, path) < 0 ? -1 : 0;
}

void bf_depfile_text(FILE *f, const char *target, const char *files)
{
	bf_depfile_path(f, target);
	fputc(':', f);
	for (const char *p = files, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
		char *one = strndup(p, (size_t)(nl - p));
		fputs(" \\\n  ", f);
		if (one)
			bf_depfile_path(f, one);
		free(one);
	}
	fputc('\n', f);
}

FILE *bf_open(bf_text *t)
{
	t->data = NULL;
	t->len = 0;
	return t->f = open_memstream(&t->data, &t->len);
}

int bf_commit(bf_text *t, const char *path)
{
	int rc = fclose(t->f) != 0 ? -1 : mld_write_if_changed(path, t->data, t->len);
	free(t->data);
	t->data = NULL;
	return rc;
}
