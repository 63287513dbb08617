/* The physical limit for indexing: read a file with plain read() and hash every
 * byte with XXH3-128, nothing else: the same XXH3 build mldedup uses (core/hash.h,
 * chosen for this CPU; MLD_CPU caps it as it caps mldedup). Prints "<bytes>
 * <seconds> <digest bits>". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "core/hash.h"

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: mldedup-rawhash FILE...\n");
		return 2;
	}
	static unsigned char buf[1 << 20];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
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
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%llu %.6f %016llx\n", total, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, sink);
	return 0;
}
