/* Settings with ccache-like precedence (ccache's config, git's --show-origin):
 *   1. the command-line option (--store);
 *   2. the environment (MLDEDUP_STORE);
 *   3. the nearest mldedup.conf in the current directory or one of its parents
 *      (`mldedup ninja`/`make` write one in their build directory);
 *   4. the user's file: $XDG_CONFIG_HOME/mldedup/mldedup.conf, else
 *      ~/.config/mldedup/mldedup.conf;
 *   5. the default.
 * A config file holds `key = value` lines; blank lines and lines starting with '#'
 * are ignored. A relative path value is relative to the file's directory. An unknown
 * key or a line that is not `key = value` is an error naming the file and line. */
#ifndef CLI_CONFIG_H
#define CLI_CONFIG_H

#include "opts.h"

#include <jansson.h>

/* The name of the per-directory file. */
#define CLI_CONF_NAME "mldedup.conf"

typedef enum { CLI_FROM_DEFAULT, CLI_FROM_USER_FILE, CLI_FROM_DIR_FILE, CLI_FROM_ENV, CLI_FROM_OPTION } cli_origin;

typedef struct cli_setting {
	const char *key;    /* in a config file */
	const char *env;    /* environment variable, or NULL */
	const char *option; /* command-line option, or NULL */
	const char *help;
	char *value; /* resolved; NULL before cli_config_resolve */
	cli_origin origin;
	char *file; /* the config file it came from, or NULL */
	unsigned line;
} cli_setting;

/* Resolve every setting (reading the config files); on a bad file, print the error
 * naming it and its line and return EXIT_FAIL. Once per process; later calls return
 * the first result. */
int cli_config_resolve(const cli_cmd *cmd);
/* The resolved setting `key` (after cli_config_resolve), or NULL. */
const cli_setting *cli_config_get(const char *key);
/* The store's path by the precedence above: *out is malloc'd. Prints the error and
 * returns EXIT_FAIL when it cannot be resolved. */
int cli_store_path(const cli_cmd *cmd, char **out);
/* The config file `dir`/mldedup.conf a build directory gets: the build's store,
 * written through the atomic-file module if its content changed. < 0 on error. */
int cli_config_write_build(const char *dir, const char *store, const char *by);

#endif
