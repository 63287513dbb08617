/* The physical limit for indexing: read a file with plain read() and hash every
 * byte with XXH3-128, nothing else. Prints "<bytes> <seconds>". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

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
		XXH3_state_t st;
		XXH3_128bits_reset(&st);
		ssize_t n;
		while ((n = read(fd, buf, sizeof buf)) > 0) {
			XXH3_128bits_update(&st, buf, (size_t)n);
			total += (unsigned long long)n;
		}
		sink ^= XXH3_128bits_digest(&st).low64;
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%llu %.6f %016llx\n", total, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, sink);
	return 0;
}
