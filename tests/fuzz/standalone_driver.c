/* The fuzz targets without libFuzzer (libgit2's fuzzers/standalone_driver.c): run
 * LLVMFuzzerTestOneInput once on every file of the directories (recursively) and
 * files given, in name order. A finding aborts, failing the ctest test that
 * replays a target's corpus. */
#define _GNU_SOURCE
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static unsigned n_inputs;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "standalone_driver: cannot read %s\n", path);
		return 1;
	}
	size_t cap = 1 << 16, n = 0, k;
	uint8_t *buf = malloc(cap);
	while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0)
		if ((n += k) == cap && !(buf = realloc(buf, cap *= 2)))
			break;
	fclose(f);
	if (!buf) {
		fprintf(stderr, "standalone_driver: out of memory reading %s\n", path);
		return 1;
	}
	/* a copy of exactly n bytes, so that ASan sees a read past the input */
	uint8_t *in = malloc(n ? n : 1);
	memcpy(in, buf, n);
	free(buf);
	if (getenv("MLD_FUZZ_VERBOSE"))
		fprintf(stderr, "%s\n", path);
	LLVMFuzzerTestOneInput(in, n);
	free(in);
	n_inputs++;
	return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "standalone_driver: %s: not found\n", path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t k = 0;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			names = realloc(names, (k + 1) * sizeof *names);
			if (!names || asprintf(&names[k++], "%s/%s", path, e->d_name) < 0)
				abort();
		}
	if (d)
		closedir(d);
	if (k)
		qsort(names, k, sizeof *names, cmp_str);
	int rc = 0;
	for (size_t i = 0; i < k; i++) {
		rc |= run_path(names[i]);
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = 0;
	for (int a = 1; a < argc; a++)
		rc |= run_path(argv[a]);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (n_inputs == 0) {
		fprintf(stderr, "%s: no inputs found\n", argv[0]);
		return 1;
	}
	printf("%s: %u inputs ran without a finding in %.2f s\n", argv[0], n_inputs,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return rc;
}
