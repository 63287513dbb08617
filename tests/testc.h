/* Helpers the C test programs share (header-only: each program includes it once).
 * fail() counts into `failures`, which the program's exit status reports. */
#ifndef MLD_TESTC_H
#define MLD_TESTC_H

#define _GNU_SOURCE
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define TC_UNUSED __attribute__((unused))

static int failures TC_UNUSED;

static TC_UNUSED void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	failures++;
}

/* A whole file in a new buffer (NULL if it cannot be opened). */
static TC_UNUSED uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0, k;
	uint8_t *buf = malloc(cap);
	while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0)
		if ((n += k) == cap)
			buf = realloc(buf, cap *= 2);
	fclose(f);
	*len = n;
	return buf;
}

static int tc_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* rm -rf, without a shell. */
static TC_UNUSED void rmtree(const char *p) { nftw(p, tc_rm_one, 16, FTW_DEPTH | FTW_PHYS); }

#endif
