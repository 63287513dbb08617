/* Settings: option, environment, nearest mldedup.conf, user file, default (config.h). */
#define _GNU_SOURCE /* asprintf */
#include "config.h"

#include "buildfile.h"
#include "fields.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static cli_setting settings[] = {
	{"store", "MLDEDUP_STORE", "--store", "the SQLite store", NULL, CLI_FROM_DEFAULT, NULL, 0},
};
#define N_SETTINGS (sizeof settings / sizeof *settings)

static int resolved = -1;          /* the result of the one resolution */
static char *dir_file, *user_file; /* the files looked at (NULL: none) */
static bool dir_found, user_found;

static cli_setting *find(const char *key)
{
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (!strcmp(settings[i].key, key))
			return &settings[i];
	return NULL;
}

const cli_setting *cli_config_get(const char *key) { return find(key); }

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = 0;
	return s;
}

static void set(cli_setting *s, const char *value, cli_origin origin, const char *file, unsigned line)
{
	free(s->value);
	free(s->file);
	s->value = strdup(value);
	s->origin = origin;
	s->file = file ? strdup(file) : NULL;
	s->line = line;
}

/* Read one file; a missing one is fine. Paths relative to its directory. */
static int read_file(const cli_cmd *cmd, const char *path, cli_origin origin, bool *found)
{
	struct stat sb;
	if (stat(path, &sb) != 0) /* absent, or behind a directory we may not enter (HOME of another user) */
		return EXIT_OK;
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "mldedup %s: config file %s: %s\n", cmd->name, cli_esc(path), strerror(errno));
		return EXIT_FAIL;
	}
	*found = true;
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	char *line = NULL;
	size_t cap = 0;
	unsigned no = 0;
	int rc = EXIT_OK;
	while (rc == EXIT_OK && getline(&line, &cap, f) > 0) {
		no++;
		char *s = trim(line), *eq = strchr(s, '=');
		if (!*s || *s == '#')
			continue;
		if (!eq) {
			fprintf(stderr, "mldedup %s: %s:%u: expected 'key = value', got '%s'\n", cmd->name,
			        cli_esc(path), no, cli_esc(s));
			rc = EXIT_FAIL;
			break;
		}
		*eq = 0;
		char *key = trim(s), *value = trim(eq + 1);
		cli_setting *st = find(key);
		if (!*key || !*value) {
			fprintf(stderr, "mldedup %s: %s:%u: expected 'key = value', with a key and a value\n",
			        cmd->name, cli_esc(path), no);
			rc = EXIT_FAIL;
		} else if (!st) {
			fprintf(stderr, "mldedup %s: %s:%u: unknown key '%s' (known:", cmd->name, cli_esc(path), no,
			        cli_esc(key));
			for (size_t i = 0; i < N_SETTINGS; i++)
				fprintf(stderr, " %s", settings[i].key);
			fprintf(stderr, ")\n");
			rc = EXIT_FAIL;
		} else {
			char *v = NULL;
			if (*value != '/' && dir && asprintf(&v, "%s/%s", dir, value) < 0)
				v = NULL;
			set(st, v ? v : value, origin, path, no);
			free(v);
		}
	}
	free(line);
	free(dir);
	fclose(f);
	return rc;
}

/* The nearest mldedup.conf from the current directory up; NULL if none. */
static char *nearest_file(void)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		return NULL;
	for (;;) {
		char *p = NULL;
		if (asprintf(&p, "%s/%s", strcmp(cwd, "/") ? cwd : "", CLI_CONF_NAME) < 0)
			return NULL;
		if (access(p, F_OK) == 0)
			return p;
		free(p);
		char *slash = strrchr(cwd, '/');
		if (!slash || slash == cwd) {
			if (!strcmp(cwd, "/"))
				return NULL;
			strcpy(cwd, "/");
		} else {
			*slash = 0;
		}
	}
}

static char *user_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *p = NULL;
	if (xdg && *xdg == '/') {
		if (asprintf(&p, "%s/mldedup/%s", xdg, CLI_CONF_NAME) < 0)
			p = NULL;
	} else if (home && *home) {
		if (asprintf(&p, "%s/.config/mldedup/%s", home, CLI_CONF_NAME) < 0)
			p = NULL;
	}
	return p;
}

int cli_config_resolve(const cli_cmd *cmd)
{
	if (resolved >= 0)
		return resolved;
	resolved = EXIT_OK;
	/* lowest first: each later source overrides */
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *def = NULL; /* as mld_store_default_path without the environment variable */
	if (xdg && *xdg == '/' ? asprintf(&def, "%s/mldedup/store.db", xdg) < 0
	    : home && *home    ? asprintf(&def, "%s/.cache/mldedup/store.db", home) < 0
	                       : 0)
		def = NULL;
	set(find("store"), def ? def : "", CLI_FROM_DEFAULT, NULL, 0);
	free(def);
	if ((user_file = user_path()))
		resolved = read_file(cmd, user_file, CLI_FROM_USER_FILE, &user_found);
	if (resolved == EXIT_OK && (dir_file = nearest_file()))
		resolved = read_file(cmd, dir_file, CLI_FROM_DIR_FILE, &dir_found);
	for (size_t i = 0; resolved == EXIT_OK && i < N_SETTINGS; i++) {
		const char *env = settings[i].env ? getenv(settings[i].env) : NULL;
		if (env && *env)
			set(&settings[i], env, CLI_FROM_ENV, NULL, 0);
	}
	if (resolved == EXIT_OK && cli_store_opt && *cli_store_opt)
		set(find("store"), cli_store_opt, CLI_FROM_OPTION, NULL, 0);
	return resolved;
}

int cli_store_path(const cli_cmd *cmd, char **out)
{
	if (cli_config_resolve(cmd))
		return EXIT_FAIL;
	const cli_setting *s = find("store");
	if (!s->value || !*s->value) {
		fprintf(stderr,
		        "mldedup %s: no store location: pass --store, set MLDEDUP_STORE or HOME, or name one in %s\n",
		        cmd->name, CLI_CONF_NAME);
		return EXIT_FAIL;
	}
	if (!(*out = strdup(s->value))) {
		fprintf(stderr, "mldedup %s: out of memory\n", cmd->name);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int cli_config_write_build(const char *dir, const char *store, const char *by)
{
	bf_text t;
	FILE *f = bf_open(&t);
	if (!f)
		return -1;
	fprintf(f,
	        "# %s: written by 'mldedup %s' for the build in this directory. mldedup commands\n"
	        "# run here or below (stats, explain, ...) use this build's store; see 'mldedup config'.\n"
	        "store = %s\n",
	        CLI_CONF_NAME, by, store);
	char *path = NULL;
	if (asprintf(&path, "%s/%s", dir, CLI_CONF_NAME) < 0) {
		fclose(t.f);
		free(t.data);
		return -1;
	}
	int rc = bf_commit(&t, path);
	free(path);
	return rc;
}

/* ---- mldedup config ------------------------------------------------------------------------ */

static const char *origin_name(cli_origin o)
{
	static const char *const names[] = {"default", "user file", "directory file", "environment", "option"};
	return names[o];
}

static void origin_text(char *buf, size_t n, const cli_setting *s)
{
	switch (s->origin) {
	case CLI_FROM_OPTION: snprintf(buf, n, "%s", s->option); break;
	case CLI_FROM_ENV: snprintf(buf, n, "%s", s->env); break;
	case CLI_FROM_DIR_FILE:
	case CLI_FROM_USER_FILE: snprintf(buf, n, "%s:%u", cli_esc(s->file), s->line); break;
	default: snprintf(buf, n, "default");
	}
}

enum { OPT_JSON = 1 };

static const cli_opt config_opts[] = {
	{OPT_JSON, "json", 0, NULL, "print {format, settings: [{key, value, origin, file, line}], files} as JSON"},
	{0},
};

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	cli_optstate st;
	bool json = false;
	int c;
	cli_opts_init(&st, cmd, argc, argv);
	while ((c = cli_opts_next(&st)) != -1) {
		if (c == OPT_JSON)
			json = true;
		else
			return EXIT_USAGE;
	}
	if (cli_opts_rest(&st) != argc)
		return cli_usage_error(cmd, "takes no arguments");
	if (cli_config_resolve(cmd))
		return EXIT_FAIL;
	if (json) {
		json_t *doc = cli_json_doc(), *arr = json_array(), *files = json_array();
		for (size_t i = 0; i < N_SETTINGS; i++) {
			const cli_setting *s = &settings[i];
			json_t *o = json_pack("{s:s,s:s,s:s}", "key", s->key, "value", s->value ? s->value : "",
			                      "origin", origin_name(s->origin));
			json_object_set_new(o, "file", s->file ? json_string(s->file) : json_null());
			json_object_set_new(o, "line", s->file ? json_integer(s->line) : json_null());
			json_array_append_new(arr, o);
		}
		const char *kinds[2] = {"directory file", "user file"};
		const char *paths[2] = {dir_file, user_file};
		bool found[2] = {dir_found, user_found};
		for (int k = 0; k < 2; k++)
			if (paths[k])
				json_array_append_new(files, json_pack("{s:s,s:s,s:b}", "kind", kinds[k], "path",
				                                       paths[k], "exists", found[k]));
		json_object_set_new(doc, "settings", arr);
		json_object_set_new(doc, "files", files);
		cli_json_emit(doc, NULL);
	} else {
		for (size_t i = 0; i < N_SETTINGS; i++) {
			char origin[PATH_MAX + 32];
			origin_text(origin, sizeof origin, &settings[i]);
			printf("(%s) %s = %s\n", origin, settings[i].key,
			       cli_esc(settings[i].value ? settings[i].value : ""));
		}
		if (cli_verbose) {
			fprintf(stderr, "directory file: %s\n", dir_file ? cli_esc(dir_file) : "(none)");
			fprintf(stderr, "user file: %s%s\n", user_file ? cli_esc(user_file) : "(none)",
			        user_file && !user_found ? " (absent)" : "");
		}
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "mldedup %s: cannot write to stdout\n", cmd->name);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

const cli_cmd cmd_config = {
	"config",
	"",
	"Show each setting, its value and where it came from (option, environment, config file, default).",
	"Precedence, highest first: the option (--store), the environment (MLDEDUP_STORE), the nearest\n"
	"mldedup.conf in the current directory or a parent (mldedup ninja and make write one in their build\n"
	"directory, naming the build's store), the user's $XDG_CONFIG_HOME/mldedup/mldedup.conf (else\n"
	"~/.config/mldedup/mldedup.conf), the default ($XDG_CACHE_HOME/mldedup/store.db, else\n"
	"~/.cache/mldedup/store.db). A config file holds 'key = value' lines ('#' starts a comment line); a\n"
	"relative path is relative to the file's directory; an unknown key or a bad line is an error naming\n"
	"the file and line. Keys: store. -v also names the files looked at.\n",
	config_opts,
	run};
