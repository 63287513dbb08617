#include "buildfile.h"

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

void bf_depfile_path(FILE *f, const char *path) { escaped(f, path, " #", '\\'); }

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
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("._/+=@~-", *s) ||
		      strchr(extra, *s)))
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
	bf_text d;
	FILE *f = bf_open(&d);
	if (!f)
		return -1;
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
	return bf_commit(&d, path) < 0 ? -1 : 0;
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
