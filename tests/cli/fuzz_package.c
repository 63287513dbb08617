/* Fuzz target: one input replaces one file of a small valid package (the synthetic
 * package of synth.h), which is then opened, and every weight decoded and digested.
 *
 * Input layout: byte 0 selects the file (low two bits: 0 model.mlmodel,
 * 1 weight.bin, 2 Manifest.json, 3 a whole .zip to open instead of the directory),
 * bit 7 also rewrites the package with mld_package_write; the rest of the input is
 * the file's content.
 *
 * Built two ways:
 *  - with -DMLD_LIBFUZZER and -fsanitize=fuzzer: the libFuzzer binary
 *    (cmake -DMLD_FUZZ=ON with clang; run: fuzz_package tests/cli/corpus);
 *  - otherwise: a regression runner whose main() feeds every file of the given
 *    corpus directories through the same entry point (registered with ctest). */
#define _GNU_SOURCE
#include "../testc.h"
#include "synth.h"

#include "mldedup.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmp, *pkg, *out, *zip;
static const char *rel[3] = {"Data/com.apple.CoreML/model.mlmodel", "Data/com.apple.CoreML/weights/weight.bin",
                             "Manifest.json"};
static uint8_t *base[3];
static size_t base_len[3];

static void cleanup(void)
{
	if (tmp)
		rmtree(tmp);
}

static void put(const char *dir, int i, const uint8_t *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, rel[i]);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len)) {
		perror(path);
		abort();
	}
	close(fd);
}

static void setup(void)
{
	if (tmp)
		return;
	const char *t = getenv("TMPDIR");
	if (asprintf(&tmp, "%s/mld-fuzz-XXXXXX", t && *t ? t : "/tmp") < 0 || !mkdtemp(tmp))
		abort();
	atexit(cleanup);
	if (asprintf(&pkg, "%s/base.mlpackage", tmp) < 0 || asprintf(&out, "%s/out.mlpackage", tmp) < 0 ||
	    asprintf(&zip, "%s/in.zip", tmp) < 0)
		abort();
	synth_opts o = {.all_ops = true}; /* every constexpr form */
	if (synth_write(pkg, &o)) {
		fprintf(stderr, "fuzz_package: cannot write the base package: %s\n", mld_error_last());
		abort();
	}
	for (int i = 0; i < 3; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", pkg, rel[i]);
		if (!(base[i] = slurp(path, &base_len[i])))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	unsigned sel = size ? data[0] : 0;
	int which = (int)(sel & 3);
	const uint8_t *body = size ? data + 1 : data;
	size_t blen = size ? size - 1 : 0;
	for (int i = 0; i < 3; i++)
		if (i == which)
			put(pkg, i, body, blen);
		else
			put(pkg, i, base[i], base_len[i]);
	const char *open_path = pkg;
	if (which == 3) { /* the input is a whole zip */
		int fd = open(zip, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || (blen && write(fd, body, blen) != (ssize_t)blen))
			abort();
		close(fd);
		open_path = zip;
	}
	mld_package *p;
	if (mld_package_open(&p, open_path)) {
		if (!mld_error_last()[0])
			abort(); /* every failure must say what went wrong */
		return 0;
	}
	for (size_t i = 0; i < mld_package_weight_count(p); i++) {
		const mld_weight *w = mld_package_weight(p, i);
		mld_tensor *t;
		mld_digest d, ds;
		float sk[MLD_SKETCH_LEN], sks[MLD_SKETCH_LEN];
		uint64_t dense = 0;
		int drc = mld_weight_decode(&t, p, w);
		/* the streaming digest (what index records) must agree with the full decode */
		int src = mld_weight_content_digest(&ds, sks, &dense, p, w);
		if (drc == 0) {
			if (t->nbytes != t->count * mld_dtype_dense_width(t->dtype))
				abort();
			mld_tensor_digest(&d, t);
			mld_tensor_sketch(sk, t);
			if (src != 0 || memcmp(&d, &ds, sizeof d) || dense != t->nbytes || memcmp(sk, sks, sizeof sk)) {
				fprintf(stderr, "fuzz_package: %s: streaming digest disagrees with the full decode (rc %d)%s%s\n",
				        mld_weight_name(w), src, src ? ": " : "", src ? mld_error_last() : "");
				abort();
			}
			mld_tensor_free(t);
		} else if (!mld_error_last()[0]) {
			abort();
		} else if (src == 0) {
			fprintf(stderr, "fuzz_package: %s: the streaming digest succeeds where the decode fails\n",
			        mld_weight_name(w));
			abort();
		}
		mld_weight_encoding_digest(&d, p, w);
		for (size_t b = 0; b < mld_weight_blob_count(w); b++)
			if (!mld_weight_blob(w, b))
				abort();
	}
	mld_digest wd;
	uint64_t wsize;
	mld_package_weights_digest(&wd, &wsize, p);
	if (sel & 0x80)
		mld_package_write(p, out, MLD_WRITE_REPLACE);
	mld_package_free(p);
	return 0;
}

#ifndef MLD_LIBFUZZER
static int run_file(const char *path)
{
	size_t len;
	uint8_t *data = slurp(path, &len);
	if (!data) {
		fprintf(stderr, "fuzz_package: cannot read %s\n", path);
		return 1;
	}
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fuzz_package CORPUS_DIR_OR_FILE...\n");
		return 2;
	}
	unsigned n = 0;
	int rc = 0;
	for (int a = 1; a < argc; a++) {
		struct stat st;
		if (stat(argv[a], &st) != 0) {
			fprintf(stderr, "fuzz_package: %s: not found\n", argv[a]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc |= run_file(argv[a]);
			n++;
			continue;
		}
		DIR *d = opendir(argv[a]);
		struct dirent *e;
		char **names = NULL;
		size_t k = 0;
		while (d && (e = readdir(d)))
			if (e->d_name[0] != '.') {
				names = realloc(names, (k + 1) * sizeof *names);
				if (asprintf(&names[k++], "%s/%s", argv[a], e->d_name) < 0)
					abort();
			}
		if (d)
			closedir(d);
		qsort(names, k, sizeof *names, cmp_str);
		for (size_t i = 0; i < k; i++) {
			rc |= run_file(names[i]);
			n++;
			free(names[i]);
		}
		free(names);
	}
	if (n == 0) {
		fprintf(stderr, "fuzz_package: no inputs found\n");
		rc = 1;
	}
	for (int i = 0; i < 3; i++)
		free(base[i]);
	free(pkg);
	free(out);
	free(zip);
	printf("fuzz_package: %u inputs ran without a crash\n", n);
	cleanup();
	free(tmp);
	tmp = NULL;
	return rc;
}
#endif
