/* Writing build files - Ninja, Make, depfiles - and the stamps they compare. */
#ifndef MLD_BUILDFILE_H
#define MLD_BUILDFILE_H

#include <stdbool.h>
#include <stdio.h>

/* A path in a depfile (read by Ninja and Make): space and '#' take a '\', '$' doubles. */
void bf_depfile_path(FILE *f, const char *path);
/* Write a depfile: "target: file..." for the '\n'-terminated paths in `files`. 0 or -1. */
int bf_write_depfile(const char *path, const char *target, const char *files);
/* A path on a Ninja build line: ' ', ':' and '$' take a '$'. */
void bf_ninja_path(FILE *f, const char *path);
/* A shell word in a Ninja or Make variable: single-quoted unless plain; '$' doubles. */
void bf_shell_word(FILE *f, const char *s);
/* Can Ninja name this path? NULL if so, else what it cannot hold ("a newline", "'|'",
 * ...): a build line has no escape for them, and a depfile none for a tab. */
const char *bf_ninja_unnameable(const char *path);
/* The files of a combined package, relative to it: its outputs on a build edge. */
extern const char *const bf_package_files[];
/* Can a Make rule name this path as it is? (letters, digits and ._/+=@~- only) */
bool bf_make_plain(const char *path);

/* Text collected in memory, then written where it belongs. */
typedef struct bf_text {
	char *data;
	size_t len;
	FILE *f;
} bf_text;
/* NULL (with errno) if out of memory. */
FILE *bf_open(bf_text *t);
/* Close `t` and write it to `path` unless `path` already holds exactly it:
 * 1 written, 0 unchanged, < 0 on error (mld_error_last() says why). */
int bf_commit(bf_text *t, const char *path);

#endif
