/* A program of a user of the installed libmldedup: the version, and a store's
 * statistics through the jansson query API (so jansson's include path and library
 * must come along). usage: consumer STORE.db */
#include <mldedup_query.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	int major, minor, patch;
	const char *v = mld_version(&major, &minor, &patch);
	if (strcmp(v, MLD_VERSION) || major != MLD_VERSION_MAJOR || minor != MLD_VERSION_MINOR) {
		fprintf(stderr, "header %s, library %s\n", MLD_VERSION, v);
		return 1;
	}
	mld_store *st;
	json_t *stats;
	if (argc != 2 || mld_store_open(&st, argv[1]) || mld_query_stats(&stats, st)) {
		fprintf(stderr, "consumer: %s\n", argc == 2 ? mld_error_last() : "usage: consumer STORE.db");
		return 1;
	}
	printf("libmldedup %s: %zu statistics\n", v, json_array_size(stats));
	json_decref(stats);
	mld_store_free(st);
	return 0;
}
