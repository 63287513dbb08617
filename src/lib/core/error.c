/* Thread-local last-error message and code (libgit2's giterr_last, simplified). */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local char err_msg[1024];
static _Thread_local int err_code;

const char *mld_error_last(void) { return err_msg; }

const char *mld_version(int *major, int *minor, int *patch)
{
	if (major)
		*major = MLD_VERSION_MAJOR;
	if (minor)
		*minor = MLD_VERSION_MINOR;
	if (patch)
		*patch = MLD_VERSION_PATCH;
	return MLD_VERSION;
}

const char *mld_error_name(int code)
{
	static const char *const names[] = {"OK",           "ERROR",    "ENOTFOUND", "EFORMAT", "EIO",
	                                    "EUNSUPPORTED", "ENOMEM",   "ESTORE",    "EUSAGE",  "EEXISTS",
	                                    "EBUSY",        "EREFUSED", "EOVERLAP"};
	return code <= 0 && -code < (int)(sizeof names / sizeof *names) ? names[-code] : "?";
}
int mld_error_code(void) { return err_code; }
void mld__err_clear(void)
{
	err_msg[0] = 0;
	err_code = 0;
}

int mld__err(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err_msg, sizeof err_msg, fmt, ap);
	va_end(ap);
	err_code = code;
	return code;
}

int mld__err_prefix(const char *fmt, ...)
{
	char prefix[512], old[sizeof err_msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err_msg, sizeof old);
	snprintf(err_msg, sizeof err_msg, "%.500s: %.500s", prefix, old);
	return err_code ? err_code : MLD_ERROR;
}

void *mld__malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		mld__err(MLD_ENOMEM, "out of memory (%zu bytes)", n);
	return p;
}

void *mld__calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		mld__err(MLD_ENOMEM, "out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *mld__realloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);
	if (!p)
		mld__err(MLD_ENOMEM, "out of memory (%zu bytes)", n);
	return p;
}

char *mld__strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = mld__malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

char *mld__sprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = mld__malloc((size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

int mld__buf_append(mld__buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *d = mld__realloc(b->data, cap);
		if (!d)
			return MLD_ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void mld__buf_free(mld__buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
