#include "zipwrite.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

static int add_tree(zip_t *z, const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (!d)
		return mld__err(MLD_EIO, "%s: %s", dir, strerror(errno));
	if (zip_dir_add(z, prefix, ZIP_FL_ENC_UTF_8) < 0) {
		closedir(d);
		return mld__err(MLD_EIO, "zip: cannot add %s/: %s", prefix, zip_strerror(z));
	}
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *path = mld__sprintf("%s/%s", dir, de->d_name), *name = mld__sprintf("%s/%s", prefix, de->d_name);
		struct stat st;
		if (!path || !name)
			rc = MLD_ENOMEM;
		else if (lstat(path, &st) != 0)
			rc = mld__err(MLD_EIO, "%s: %s", path, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = add_tree(z, path, name);
		else {
			zip_source_t *src = zip_source_file(z, path, 0, -1);
			zip_int64_t idx = src ? zip_file_add(z, name, src, ZIP_FL_ENC_UTF_8) : -1;
			if (idx < 0) {
				if (src)
					zip_source_free(src);
				rc = mld__err(MLD_EIO, "zip: cannot add %s: %s", path, zip_strerror(z));
			} else if (strstr(name, "/weights/")) {
				zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
			}
		}
		free(path);
		free(name);
	}
	closedir(d);
	return rc;
}

int mld__zip_tree(const char *dir, const char *prefix, const char *zip_path)
{
	char *tmp = mld__sprintf("%s.tmp-%ld", zip_path, (long)getpid());
	if (!tmp)
		return MLD_ENOMEM;
	unlink(tmp);
	int zerr = 0;
	zip_t *z = zip_open(tmp, ZIP_CREATE | ZIP_EXCL, &zerr);
	int rc = 0;
	if (!z) {
		rc = mld__err(MLD_EIO, "%s: cannot create zip (libzip error %d)", tmp, zerr);
	} else if ((rc = add_tree(z, dir, prefix))) {
		zip_discard(z);
	} else if (zip_close(z) != 0) {
		rc = mld__err(MLD_EIO, "%s: cannot write zip: %s", zip_path, zip_strerror(z));
		zip_discard(z);
	} else if (rename(tmp, zip_path) != 0) {
		rc = mld__err(MLD_EIO, "%s: cannot rename into place: %s", zip_path, strerror(errno));
	}
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}
