/* Image folders and CSV lists, their encoding and the dataset they become
 * (image_set.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "image_set.h"

/* ---- growing arrays of strings ---- */

typedef struct string_list {
	char **items;
	int n, cap;
} string_list;

static int strings_add(string_list *s, const char *text)
{
	if (s->n == s->cap) {
		int cap = s->cap ? 2 * s->cap : 64;
		char **items = realloc(s->items, (size_t)cap * sizeof *items);

		if (!items)
			return -1;
		s->items = items;
		s->cap = cap;
	}
	s->items[s->n] = strdup(text);
	return s->items[s->n] ? (s->n++, 0) : -1;
}

static void strings_free(string_list *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->items[i]);
	free(s->items);
	memset(s, 0, sizeof *s);
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *path_join(const char *dir, const char *name)
{
	size_t size = strlen(dir) + strlen(name) + 2;
	char *p = malloc(size);

	if (p)
		snprintf(p, size, "%s/%s", dir, name);
	return p;
}

static int is_dir(const char *path)
{
	struct stat info;

	return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

static void warnf(image_warn_fn warn, void *user, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warnf(image_warn_fn warn, void *user, const char *fmt, ...)
{
	char line[1200];
	va_list ap;

	if (!warn)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	warn(line, user);
}

/* Lists the entries of dir not starting with '.', sorted: sub-folders into
 * dirs and other entries into files (either may be NULL). */
static tp_status dir_list(const char *dir, string_list *dirs, string_list *files)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	tp_status st = TP_OK;

	if (!d)
		return tp_fail(TP_ERR_IO, "load images: cannot open the folder '%s': %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL && st == TP_OK) {
		char *path;

		if (e->d_name[0] == '.')
			continue;
		path = path_join(dir, e->d_name);
		if (!path) {
			st = tp_fail(TP_ERR_NOMEM, "load images: out of memory");
			break;
		}
		if (is_dir(path) ? (dirs && strings_add(dirs, e->d_name) != 0)
				 : (files && strings_add(files, e->d_name) != 0))
			st = tp_fail(TP_ERR_NOMEM, "load images: out of memory");
		free(path);
	}
	closedir(d);
	if (dirs)
		qsort(dirs->items, (size_t)dirs->n, sizeof *dirs->items, compare_strings);
	if (files)
		qsort(files->items, (size_t)files->n, sizeof *files->items, compare_strings);
	return st;
}

/* Appends the paths of every file under dir, at any depth, sorted within
 * each folder, files before sub-folders. */
static tp_status files_collect(const char *dir, string_list *out, int depth)
{
	string_list dirs = { 0 }, files = { 0 };
	tp_status st;

	if (depth > 32)
		return tp_fail(TP_ERR_VALUE, "load images: '%s' is nested more than 32 folders deep (a link loop?)", dir);
	st = dir_list(dir, &dirs, &files);
	for (int i = 0; i < files.n && st == TP_OK; i++) {
		char *p = path_join(dir, files.items[i]);

		if (!p || strings_add(out, p) != 0)
			st = tp_fail(TP_ERR_NOMEM, "load images: out of memory");
		free(p);
	}
	for (int i = 0; i < dirs.n && st == TP_OK; i++) {
		char *p = path_join(dir, dirs.items[i]);

		st = p ? files_collect(p, out, depth + 1) : tp_fail(TP_ERR_NOMEM, "load images: out of memory");
		free(p);
	}
	strings_free(&dirs);
	strings_free(&files);
	return st;
}

/* ---- the list ---- */

void image_list_free(image_list *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->n; i++)
		free(l->items[i].path);
	for (int c = 0; c < l->n_classes; c++)
		free(l->class_names[c]);
	free(l->items);
	free(l->class_names);
	free(l->source);
	free(l);
}

static tp_status list_add(image_list *l, int *cap, const char *path, int label, int split)
{
	if (l->n == *cap) {
		int n = *cap ? 2 * *cap : 256;
		image_item *items = realloc(l->items, (size_t)n * sizeof *items);

		if (!items)
			return tp_fail(TP_ERR_NOMEM, "load images: out of memory for %d images", n);
		l->items = items;
		*cap = n;
	}
	l->items[l->n].path = strdup(path);
	if (!l->items[l->n].path)
		return tp_fail(TP_ERR_NOMEM, "load images: out of memory");
	l->items[l->n].label = label;
	l->items[l->n].split = split;
	l->n++;
	return TP_OK;
}

/* Appends the files of class folder name under each root (root k gives
 * split splits[k]) with label to l; *count is how many. */
static tp_status class_collect(image_list *l, int *cap, const char *const *roots, const int *splits,
			       int n_roots, const char *name, int label, int *count)
{
	tp_status st = TP_OK;

	*count = 0;
	for (int k = 0; k < n_roots && st == TP_OK; k++) {
		string_list files = { 0 };
		char *dir = path_join(roots[k], name);

		if (!dir)
			return tp_fail(TP_ERR_NOMEM, "load images: out of memory");
		if (is_dir(dir))
			st = files_collect(dir, &files, 0);
		for (int i = 0; i < files.n && st == TP_OK; i++)
			st = list_add(l, cap, files.items[i], label, splits[k]);
		*count += files.n;
		strings_free(&files);
		free(dir);
	}
	return st;
}

/* Fills l from the class folders of roots.  The class names are the union
 * of the folder names, less those without files. */
static tp_status list_from_roots(image_list *l, const char *const *roots, const int *splits, int n_roots,
				 image_warn_fn warn, void *user)
{
	string_list names = { 0 };
	int cap = 0;
	tp_status st = TP_OK;

	for (int k = 0; k < n_roots && st == TP_OK; k++)
		st = dir_list(roots[k], &names, NULL);
	if (st == TP_OK)
		qsort(names.items, (size_t)names.n, sizeof *names.items, compare_strings);
	if (st == TP_OK && !(l->class_names = calloc((size_t)names.n + 1, sizeof *l->class_names)))
		st = tp_fail(TP_ERR_NOMEM, "load images: out of memory");
	for (int c = 0; c < names.n && st == TP_OK; c++) {
		int count;

		if (c > 0 && strcmp(names.items[c], names.items[c - 1]) == 0)
			continue;
		st = class_collect(l, &cap, roots, splits, n_roots, names.items[c], l->n_classes, &count);
		if (st != TP_OK)
			break;
		if (count == 0) {
			warnf(warn, user, "class folder '%s' has no files: the class is left out", names.items[c]);
			continue;
		}
		l->class_names[l->n_classes] = strdup(names.items[c]);
		if (!l->class_names[l->n_classes])
			st = tp_fail(TP_ERR_NOMEM, "load images: out of memory");
		else
			l->n_classes++;
	}
	strings_free(&names);
	return st;
}

tp_status image_list_scan_dir(const char *dir, image_warn_fn warn, void *user, image_list **out)
{
	image_list *l = calloc(1, sizeof *l);
	string_list dirs = { 0 }, files = { 0 };
	int has_train = 0, has_test = 0;
	tp_status st;

	*out = NULL;
	if (!l || !(l->source = strdup(dir))) {
		free(l);
		return tp_fail(TP_ERR_NOMEM, "load images: out of memory");
	}
	st = dir_list(dir, &dirs, &files);
	for (int i = 0; i < dirs.n; i++) {
		has_train |= strcmp(dirs.items[i], "train") == 0;
		has_test |= strcmp(dirs.items[i], "test") == 0;
	}
	if (st == TP_OK && files.n > 0)
		warnf(warn, user, "%d file%s directly in '%s' (such as '%s') %s outside the class folders and ignored",
		      files.n, files.n > 1 ? "s" : "", dir, files.items[0], files.n > 1 ? "are" : "is");

	if (st == TP_OK && has_train && has_test) {
		char *roots[2] = { path_join(dir, "train"), path_join(dir, "test") };
		const int splits[2] = { 0, 1 };

		for (int i = 0; i < dirs.n; i++)
			if (strcmp(dirs.items[i], "train") != 0 && strcmp(dirs.items[i], "test") != 0)
				warnf(warn, user, "folder '%s/%s' is ignored: with train/ and test/ only those two are read",
				      dir, dirs.items[i]);
		if (!roots[0] || !roots[1])
			st = tp_fail(TP_ERR_NOMEM, "load images: out of memory");
		else
			st = list_from_roots(l, (const char *const *)roots, splits, 2, warn, user);
		free(roots[0]);
		free(roots[1]);
	} else if (st == TP_OK) {
		const char *roots[1] = { dir };
		const int splits[1] = { -1 };

		st = list_from_roots(l, roots, splits, 1, warn, user);
	}
	strings_free(&dirs);
	strings_free(&files);

	if (st == TP_OK && l->n == 0)
		st = tp_fail(TP_ERR_VALUE, "load images: '%s' has no files in class folders: expected DIR/CLASS/IMAGE, or DIR/train/CLASS/IMAGE and DIR/test/CLASS/IMAGE",
			     dir);
	else if (st == TP_OK && l->n_classes < 2)
		st = tp_fail(TP_ERR_VALUE, "load images: '%s' has images of %d class ('%s'): a classifier needs at least two class folders",
			     dir, l->n_classes, l->class_names[0]);
	if (st != TP_OK) {
		image_list_free(l);
		return st;
	}
	*out = l;
	return TP_OK;
}

tp_status image_list_scan_files(const char *dir, image_list **out)
{
	image_list *l = calloc(1, sizeof *l);
	string_list files = { 0 };
	int cap = 0;
	tp_status st;

	*out = NULL;
	if (!l || !(l->source = strdup(dir))) {
		free(l);
		return tp_fail(TP_ERR_NOMEM, "encode images: out of memory");
	}
	st = files_collect(dir, &files, 0);
	for (int i = 0; i < files.n && st == TP_OK; i++)
		st = list_add(l, &cap, files.items[i], 0, -1);
	strings_free(&files);
	if (st == TP_OK && l->n == 0)
		st = tp_fail(TP_ERR_VALUE, "encode images: the folder '%s' has no files", dir);
	if (st != TP_OK) {
		image_list_free(l);
		return st;
	}
	*out = l;
	return TP_OK;
}

/* ---- CSV ---- */

/* Splits line into at most max fields in place, with double quotes. */
static int csv_split(char *line, char **fields, int max)
{
	int n = 0;
	char *r = line, *w;

	while (n < max) {
		fields[n++] = w = r;
		if (*r == '"') {
			r++;
			while (*r) {
				if (r[0] == '"' && r[1] == '"') {
					*w++ = '"';
					r += 2;
				} else if (r[0] == '"') {
					r++;
					break;
				} else {
					*w++ = *r++;
				}
			}
			while (*r && *r != ',')
				r++;
		} else {
			while (*r && *r != ',')
				*w++ = *r++;
		}
		if (*r != ',') {
			*w = '\0';
			return n;
		}
		r++;
		*w = '\0';
	}
	return *r ? max + 1 : n;
}

static int label_parse(const image_list *l, const char *text)
{
	char *end;
	long v;

	for (int c = 0; c < l->n_classes; c++)
		if (strcmp(l->class_names[c], text) == 0)
			return c;
	errno = 0;
	v = strtol(text, &end, 10);
	if (end != text && *end == '\0' && errno == 0 && v >= 0 && v < l->n_classes)
		return (int)v;
	return -1;
}

static char *csv_path(const char *csv, const char *path)
{
	const char *slash = strrchr(csv, '/');
	size_t size;
	char *out;

	if (path[0] == '/' || !slash)
		return strdup(path);
	size = (size_t)(slash - csv) + strlen(path) + 2;
	out = malloc(size);
	if (out)
		snprintf(out, size, "%.*s/%s", (int)(slash - csv), csv, path);
	return out;
}

/* Reads the lines of f into l. */
static tp_status csv_read_lines(image_list *l, FILE *f, const char *csv)
{
	char line[8192], *fields[4];
	int lineno = 0, cap = 0, with_split = -1;
	tp_status st = TP_OK;

	while (st == TP_OK && fgets(line, sizeof line, f)) {
		size_t len = strlen(line);
		int n, label, split = -1;
		char *path;

		lineno++;
		if (len == sizeof line - 1 && line[len - 1] != '\n')
			return tp_fail(TP_ERR_FORMAT, "load images: '%s' line %d is longer than %zu bytes", csv, lineno, sizeof line - 2);
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		n = csv_split(line, fields, 3);
		if (lineno == 1 && n >= 2 && strcasecmp(fields[0], "path") == 0 && label_parse(l, fields[1]) < 0)
			continue;
		if (n < 2 || n > 3)
			return tp_fail(TP_ERR_FORMAT, "load images: '%s' line %d has %d fields, expected path,label or path,label,split",
				       csv, lineno, n);
		label = label_parse(l, fields[1]);
		if (label < 0)
			return tp_fail(TP_ERR_VALUE, "load images: '%s' line %d: label '%s' is neither a class name nor an index in 0..%d",
				       csv, lineno, fields[1], l->n_classes - 1);
		if (n == 3) {
			if (strcmp(fields[2], "train") != 0 && strcmp(fields[2], "test") != 0)
				return tp_fail(TP_ERR_VALUE, "load images: '%s' line %d: split '%s' is not train or test",
					       csv, lineno, fields[2]);
			split = strcmp(fields[2], "test") == 0;
		}
		if (with_split >= 0 && with_split != (n == 3))
			return tp_fail(TP_ERR_FORMAT, "load images: '%s' line %d %s a split column but earlier lines %s: give it on every line or on none",
				       csv, lineno, n == 3 ? "has" : "lacks", n == 3 ? "do not" : "do");
		with_split = n == 3;
		path = csv_path(csv, fields[0]);
		st = path ? list_add(l, &cap, path, label, split) : tp_fail(TP_ERR_NOMEM, "load images: out of memory");
		free(path);
	}
	if (st == TP_OK && ferror(f))
		st = tp_fail(TP_ERR_IO, "load images: cannot read '%s'", csv);
	return st;
}

tp_status image_list_read_csv(const char *csv_path_name, const char *classes_path, image_list **out)
{
	image_list *l = calloc(1, sizeof *l);
	FILE *f;
	tp_status st;

	*out = NULL;
	if (!l || !(l->source = strdup(csv_path_name))) {
		free(l);
		return tp_fail(TP_ERR_NOMEM, "load images: out of memory");
	}
	st = dataset_read_class_names(classes_path, &l->class_names, &l->n_classes);
	if (st == TP_OK && l->n_classes < 2)
		st = tp_fail(TP_ERR_VALUE, "load images: '%s' names %d class: a classifier needs at least two",
			     classes_path, l->n_classes);
	if (st == TP_OK) {
		f = fopen(csv_path_name, "r");
		if (!f) {
			st = tp_fail(TP_ERR_IO, "load images: cannot open '%s': %s", csv_path_name, strerror(errno));
		} else {
			st = csv_read_lines(l, f, csv_path_name);
			fclose(f);
		}
	}
	if (st == TP_OK && l->n == 0)
		st = tp_fail(TP_ERR_VALUE, "load images: '%s' lists no images: write one path,label line per image",
			     csv_path_name);
	if (st != TP_OK) {
		image_list_free(l);
		return st;
	}
	*out = l;
	return TP_OK;
}
