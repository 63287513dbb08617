/* The physical limit for indexing: read a file with plain read() and hash every
 * byte with XXH3-128, nothing else: the same XXH3 build mldedup uses (core/hash.h,
 * chosen for this CPU; MLD_CPU caps it as it caps mldedup). Prints "<bytes>
 * <seconds> <digest bits>".
 *
 * mldedup-rawhash --dense PKG...: the other half of index's limit, hashing the dense
 * values: XXH3-128 over as many bytes as the packages' weights have dense values
 * (every weight's element count times its dense width), from a buffer that stays in
 * cache, nothing decoded. Prints "<dense bytes> <seconds>". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "core/hash.h"
#include "mldedup.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int dense(int argc, char **argv)
{
	unsigned long long total = 0;
	for (int i = 2; i < argc; i++) {
		mld_package *p;
		if (mld_package_open(&p, argv[i])) {
			fprintf(stderr, "%s\n", mld_error_last());
			return 1;
		}
		for (size_t k = 0; k < mld_package_weight_count(p); k++) {
			const mld_weight *w = mld_package_weight(p, k);
			total += mld_weight_element_count(w) * mld_dtype_dense_width(mld_weight_dtype(w));
		}
		mld_package_free(p);
	}
	static unsigned char buf[1 << 16]; /* a decoded block's worth, as index hashes them */
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	double t0 = now();
	mld__hash st;
	mld__hash_reset(&st);
	for (unsigned long long done = 0; done < total;) {
		size_t k = total - done < sizeof buf ? (size_t)(total - done) : sizeof buf;
		mld__hash_update(&st, buf, k);
		done += k;
	}
	uint8_t d[16];
	mld__hash_digest(d, &st);
	printf("%llu %.6f %02x\n", total, now() - t0, d[15]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "--dense"))
		return dense(argc, argv);
	if (argc < 2) {
		fprintf(stderr, "usage: mldedup-rawhash FILE... | --dense PKG...\n");
		return 2;
	}
	static unsigned char buf[1 << 20];
	double t0 = now();
	unsigned long long total = 0, sink = 0;
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		if (fd < 0) {
			perror(argv[i]);
			return 1;
		}
		mld__hash st;
		mld__hash_reset(&st);
		ssize_t n;
		while ((n = read(fd, buf, sizeof buf)) > 0) {
			mld__hash_update(&st, buf, (size_t)n);
			total += (unsigned long long)n;
		}
		uint8_t d[16];
		unsigned long long low64 = 0;
		mld__hash_digest(d, &st);
		for (int k = 8; k < 16; k++) /* canonical bytes: the low 64 bits last */
			low64 = low64 << 8 | d[k];
		sink ^= low64;
		close(fd);
	}
	printf("%llu %.6f %016llx\n", total, now() - t0, sink);
	return 0;
}
