/* Manifest.json: the package's table of items and its root model. */
#include "package.h"

#include <jansson.h>
#include <stdlib.h>

/* "major.minor.patch", three non-negative integers, not newer than 1.0.0. */
static bool version_ok(const char *v)
{
	long parts[3];
	const char *p = v;
	for (int i = 0; i < 3; i++) {
		char *end;
		if (*p < '0' || *p > '9')
			return false;
		parts[i] = strtol(p, &end, 10);
		if (i < 2 && *end != '.')
			return false;
		if (i == 2 && *end)
			return false;
		p = end + 1;
	}
	if (parts[0] != 1)
		return parts[0] == 0 && (parts[1] > 0); /* 0.x.y with x>0 is older; reject 0.0.z */
	return parts[1] == 0 && parts[2] == 0;
}

int mld__manifest_load(mld_package *pkg)
{
	uint8_t *data;
	size_t len;
	int rc = mld__source_read(pkg->src, "Manifest.json", &data, &len);
	if (rc)
		return rc == MLD_ENOTFOUND ? mld__err(MLD_EFORMAT, "%s: not a CoreML package: Manifest.json is missing",
		                                      mld__source_path(pkg->src))
		                           : rc;
	char *disp = mld__source_display(pkg->src, "Manifest.json");
	json_error_t je;
	json_t *root = json_loadb((const char *)data, len, 0, &je);
	free(data);
	if (!root) {
		rc = mld__err(MLD_EFORMAT, "%s: invalid JSON at line %d: %s", disp, je.line, je.text);
		goto out;
	}
	if (!json_is_object(root)) {
		rc = mld__err(MLD_EFORMAT, "%s: top level is not a JSON object", disp);
		goto out;
	}
	const char *ver = json_string_value(json_object_get(root, "fileFormatVersion"));
	if (!ver) {
		rc = mld__err(MLD_EFORMAT, "%s: missing key \"fileFormatVersion\"", disp);
		goto out;
	}
	if (!version_ok(ver)) {
		rc = mld__err(MLD_EUNSUPPORTED, "%s: fileFormatVersion \"%s\" is not supported (expected 1.0.0)", disp,
		              ver);
		goto out;
	}
	json_t *items = json_object_get(root, "itemInfoEntries");
	if (items && !json_is_object(items)) {
		rc = mld__err(MLD_EFORMAT, "%s: \"itemInfoEntries\" is not an object", disp);
		goto out;
	}
	const char *key;
	json_t *item;
	json_object_foreach(items, key, item)
	{
		static const char *need[] = {"path", "name", "author", "description"};
		for (int i = 0; i < 4; i++)
			if (!json_is_string(json_object_get(item, need[i]))) {
				rc = mld__err(MLD_EFORMAT, "%s: item \"%s\" lacks the string key \"%s\"", disp, key,
				              need[i]);
				goto out;
			}
		const char *path = json_string_value(json_object_get(item, "path"));
		if (path[0] == '/') {
			rc = mld__err(MLD_EFORMAT,
			              "%s: item \"%s\" has the absolute path \"%s\" (paths are relative to Data/)",
			              disp, key, path);
			goto out;
		}
		char *rel = mld__sprintf("Data/%s", path);
		if (!rel) {
			rc = MLD_ENOMEM;
			goto out;
		}
		if ((rc = mld__source_check_rel(pkg->src, rel))) {
			mld__err_prefix("%s: item \"%s\"", disp, key);
			free(rel);
			goto out;
		}
		bool exists = mld__source_exists(pkg->src, rel);
		if (!exists && mld_error_code()) { /* resolved outside the package */
			rc = mld__err_prefix("%s: item \"%s\"", disp, key);
			free(rel);
			goto out;
		}
		if (!exists) {
			rc = mld__err(MLD_EFORMAT, "%s: item \"%s\" names Data/%s, which does not exist", disp, key,
			              path);
			free(rel);
			goto out;
		}
		if (!strcmp(json_string_value(json_object_get(item, "name")), "weights") &&
		    !strcmp(json_string_value(json_object_get(item, "author")), "com.apple.CoreML") &&
		    !pkg->weights_rel)
			pkg->weights_rel = rel;
		else
			free(rel);
	}
	const char *root_id = json_string_value(json_object_get(root, "rootModelIdentifier"));
	if (!root_id) {
		rc = mld__err(MLD_EFORMAT, "%s: missing key \"rootModelIdentifier\"", disp);
		goto out;
	}
	json_t *model = json_object_get(items, root_id);
	if (!model) {
		rc = mld__err(MLD_EFORMAT, "%s: rootModelIdentifier \"%s\" is not in itemInfoEntries", disp, root_id);
		goto out;
	}
	const char *mpath = json_string_value(json_object_get(model, "path"));
	if (!(pkg->model_rel = mld__sprintf("Data/%s", mpath))) {
		rc = MLD_ENOMEM;
		goto out;
	}
	char *slash = strrchr(pkg->model_rel, '/');
	pkg->model_dir = mld__malloc((size_t)(slash - pkg->model_rel) + 1);
	if (!pkg->model_dir) {
		rc = MLD_ENOMEM;
		goto out;
	}
	memcpy(pkg->model_dir, pkg->model_rel, (size_t)(slash - pkg->model_rel));
	pkg->model_dir[slash - pkg->model_rel] = 0;
out:
	json_decref(root);
	free(disp);
	return rc;
}
