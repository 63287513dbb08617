/* The physical limit for a combine: its output's bytes - which are exactly the
 * distinct blobs of its sources - read and written once, the way combine writes them:
 * mapped, pwrite() in large pieces to a new file beside DST, fsync, rename over DST
 * (a DST already there is replaced, as combine replaces its previous output). Prints
 * "<bytes> <seconds>". usage: mldedup-rawcopy SRC DST */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mldedup-rawcopy SRC DST\n");
		return 2;
	}
	double t0 = now();
	int in = open(argv[1], O_RDONLY);
	struct stat st;
	if (in < 0 || fstat(in, &st) != 0) {
		perror(argv[1]);
		return 1;
	}
	size_t len = (size_t)st.st_size;
	const unsigned char *p = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, in, 0) : NULL;
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp-%ld", argv[2], (long)getpid());
	int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		perror(tmp);
		return 1;
	}
	for (size_t at = 0; at < len;) {
		size_t k = len - at < (8u << 20) ? len - at : (8u << 20);
		ssize_t w = pwrite(out, p + at, k, (off_t)at);
		if (w <= 0) {
			perror("pwrite");
			return 1;
		}
		at += (size_t)w;
	}
	if (fsync(out) != 0 || close(out) != 0 || rename(tmp, argv[2]) != 0) {
		perror(argv[2]);
		return 1;
	}
	if (len)
		munmap((void *)p, len);
	close(in);
	printf("%zu %.6f\n", len, now() - t0);
	return 0;
}
