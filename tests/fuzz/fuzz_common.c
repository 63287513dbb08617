/* See fuzz.h. */
#include "fuzz.h"

#include "io/source.h"
#include "write/pkgwrite.h"
#include "../cli/synth.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const fz_rel[FZ_N_FILES] = {"Data/com.apple.CoreML/model.mlmodel",
                                        "Data/com.apple.CoreML/weights/weight.bin", "Manifest.json"};

void fz_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "FINDING at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

static fz_files bases[FZ_N_BASES];
static bool made;

static void make_bases(void)
{
	const synth_opts opts[FZ_N_BASES] = {
		[FZ_BASE_ALL] = {.all_ops = true},
		[FZ_BASE_IOS16] = {.ios16 = true, .seed = 7},
		[FZ_BASE_TWO_FN] = {.second_fn = true, .seed = 3},
	};
	for (int b = 0; b < FZ_N_BASES; b++) {
		mld__pkgmem m;
		if (synth_write_mem(&m, &opts[b]))
			fz_fail(__FILE__, __LINE__, "cannot build base package %d: %s", b, mld_error_last());
		mld__buf *bufs[FZ_N_FILES] = {&m.model, &m.weights, &m.manifest};
		for (int k = 0; k < FZ_N_FILES; k++) {
			bases[b].data[k] = bufs[k]->data; /* kept for the process's life */
			bases[b].len[k] = bufs[k]->len;
		}
	}
	made = true;
}

const fz_files *fz_base(int which)
{
	if (!made)
		make_bases();
	return &bases[which < 0 || which >= FZ_N_BASES ? 0 : which];
}

static void must(int rc)
{
	if (rc)
		fz_fail(__FILE__, __LINE__, "cannot register an in-memory package: %s", mld_error_last());
}

void fz_register_files(const char *path, const fz_files *f)
{
	must(mld__memsrc_add(path, NULL, NULL, 0));
	must(mld__memsrc_add(path, "Data/com.apple.CoreML/weights/", NULL, 0)); /* the directory, even if empty */
	for (int k = 0; k < FZ_N_FILES; k++)
		if (f->data[k])
			must(mld__memsrc_add(path, fz_rel[k], f->data[k], f->len[k]));
}

void fz_register(const char *path, int which, int kind, const uint8_t *data, size_t len)
{
	if (kind == FZ_ZIP) {
		must(mld__memsrc_add_zip(path, data, len));
		return;
	}
	fz_files f = *fz_base(which);
	if (kind >= 0 && kind < FZ_N_FILES) {
		f.data[kind] = (uint8_t *)(data ? data : (const uint8_t *)"");
		f.len[kind] = len;
	}
	fz_register_files(path, &f);
}

void fz_reset(void) { mld__memsrc_clear(); }

void fz_check_error(int rc, const char *must_name)
{
	const char *msg = mld_error_last();
	FZ_ASSERT(rc < 0, "failure code %d is not negative", rc);
	FZ_ASSERT(msg && msg[0], "a failure (%s) without a message", mld_error_name(rc));
	if (must_name && rc != MLD_ENOMEM) { /* messages are cut short: a long name's first 200 bytes */
		char head[201];
		snprintf(head, sizeof head, "%s", must_name);
		FZ_ASSERT(strstr(msg, head), "the message does not name %s: %s", head, msg);
	}
}

void fz_check_package(mld_package *p)
{
	for (size_t i = 0; i < mld_package_weight_count(p); i++) {
		const mld_weight *w = mld_package_weight(p, i);
		FZ_ASSERT(w, "weight %zu of %zu is NULL", i, mld_package_weight_count(p));
		mld_tensor *t;
		mld_digest d, ds, e1, e2;
		float sk[MLD_SKETCH_LEN], sks[MLD_SKETCH_LEN];
		uint64_t dense = 0;
		int drc = mld_weight_decode(&t, p, w);
		char derr[600];
		snprintf(derr, sizeof derr, "%s", drc ? mld_error_last() : "");
		if (drc)
			fz_check_error(drc, NULL);
		/* the streaming digest (what index records) must agree with the full decode */
		int src = mld_weight_content_digest(&ds, sks, &dense, p, w);
		if (drc == 0) {
			FZ_ASSERT(t->nbytes == t->count * mld_dtype_dense_width(t->dtype),
			          "%s: %zu bytes for %llu elements", mld_weight_name(w), t->nbytes,
			          (unsigned long long)t->count);
			mld_tensor_digest(&d, t);
			mld_tensor_sketch(sk, t);
			FZ_ASSERT(src == 0, "%s: the streaming digest fails where the decode succeeds: %s",
			          mld_weight_name(w), mld_error_last());
			FZ_ASSERT(!memcmp(&d, &ds, sizeof d),
			          "%s: the streaming content digest disagrees with the full decode",
			          mld_weight_name(w));
			FZ_ASSERT(dense == t->nbytes,
			          "%s: the streaming decode counts %llu dense bytes, the full one %zu",
			          mld_weight_name(w), (unsigned long long)dense, t->nbytes);
			for (int k = 0; k < MLD_SKETCH_LEN; k++)
				FZ_ASSERT(!memcmp(&sk[k], &sks[k], sizeof sk[k]),
				          "%s: sketch[%d] is %g streaming, %g in full", mld_weight_name(w), k,
				          (double)sks[k], (double)sk[k]);
			mld_tensor_free(t);
		} else {
			FZ_ASSERT(src != 0, "%s: the streaming digest succeeds where the decode fails (%s)",
			          mld_weight_name(w), derr);
			fz_check_error(src, NULL);
		}
		int erc = mld_weight_encoding_digest(&e1, p, w);
		if (erc)
			fz_check_error(erc, NULL);
		else {
			FZ_ASSERT(!mld_weight_encoding_digest(&e2, p, w) && !memcmp(&e1, &e2, sizeof e1),
			          "%s: the encoding digest is not deterministic", mld_weight_name(w));
		}
		for (size_t b = 0; b < mld_weight_blob_count(w); b++)
			FZ_ASSERT(mld_weight_blob(w, b), "%s: blob %zu is NULL", mld_weight_name(w), b);
	}
	mld_digest wd;
	uint64_t wsize;
	int rc = mld_package_weights_digest(&wd, &wsize, p);
	if (rc)
		fz_check_error(rc, NULL);
}

/* The weights of a package as "function/name" -> content digest (or its failure). */
typedef struct wsum {
	char key[600];
	int rc;
	mld_digest content;
	char chain[200];
} wsum;

static wsum *summarize(mld_package *p, size_t *n)
{
	*n = mld_package_weight_count(p);
	wsum *s = calloc(*n ? *n : 1, sizeof *s);
	for (size_t i = 0; s && i < *n; i++) {
		const mld_weight *w = mld_package_weight(p, i);
		snprintf(s[i].key, sizeof s[i].key, "%s/%s", mld_weight_function(w), mld_weight_name(w));
		snprintf(s[i].chain, sizeof s[i].chain, "%s", mld_weight_chain(w));
		uint64_t dense;
		s[i].rc = mld_weight_content_digest(&s[i].content, NULL, &dense, p, w);
	}
	return s;
}

void fz_check_roundtrip(mld_package *p)
{
	mld__pkgmem out;
	int rc = mld__package_write_mem(p, &out);
	if (rc) {
		fz_check_error(rc, NULL);
		return;
	}
	static unsigned serial;
	char path[64];
	snprintf(path, sizeof path, "/fz/written-%u.mlpackage", serial++);
	fz_files f = {{out.model.data, out.has_weights ? out.weights.data : NULL, out.manifest.data},
	              {out.model.len, out.weights.len, out.manifest.len}};
	fz_register_files(path, &f);
	mld_package *q;
	rc = mld_package_open(&q, path);
	/* every weight of p decodes or fails alike in q: a written package must open */
	FZ_ASSERT(rc == 0, "the written package does not open: %s", mld_error_last());
	size_t na, nb;
	wsum *a = summarize(p, &na), *b = summarize(q, &nb);
	FZ_ASSERT(a && b, "out of memory");
	FZ_ASSERT(na == nb, "the written package has %zu weights, the source %zu", nb, na);
	for (size_t i = 0; i < na; i++) {
		size_t j = 0;
		while (j < nb && strcmp(a[i].key, b[j].key))
			j++;
		FZ_ASSERT(j < nb, "%s is missing from the written package", a[i].key);
		FZ_ASSERT(!strcmp(a[i].chain, b[j].chain), "%s: chain %s became %s", a[i].key, a[i].chain, b[j].chain);
		FZ_ASSERT((a[i].rc == 0) == (b[j].rc == 0), "%s: decodes %s before the round trip, %s after", a[i].key,
		          a[i].rc ? "not" : "fine", b[j].rc ? "not" : "fine");
		FZ_ASSERT(a[i].rc || !memcmp(&a[i].content, &b[j].content, sizeof a[i].content),
		          "%s: the round trip changed its values", a[i].key);
	}
	free(a);
	free(b);
	mld_package_free(q);
	mld__pkgmem_free(&out);
}

size_t fz_split(const uint8_t *data, size_t size, const uint8_t **parts, size_t *lens, size_t max)
{
	size_t n = 0, start = 0;
	for (size_t i = 0; n + 1 < max && i + 4 <= size; i++)
		if (!memcmp(data + i, FZ_SEP, 4)) {
			parts[n] = data + start;
			lens[n++] = i - start;
			start = i + 4;
			i += 3;
		}
	if (n < max) {
		parts[n] = data + start;
		lens[n++] = size - start;
	}
	return n;
}

void fz_package_input(int which, int kind, const uint8_t *data, size_t len, bool roundtrip)
{
	static const char path[] = "/fz/input.mlpackage";
	fz_register(path, which, kind, data, len);
	mld_package *p;
	int rc = mld_package_open(&p, path);
	if (rc) {
		fz_check_error(rc, "input.mlpackage");
	} else {
		fz_check_package(p);
		if (roundtrip)
			fz_check_roundtrip(p);
		mld_package_free(p);
	}
	fz_reset();
}
