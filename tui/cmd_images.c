/* The image commands of the model group.  `load images` turns an image
 * folder or CSV list into the workbench's data set through the loaded
 * model's image encoder and the feature cache.  `encode images` writes the
 * features of given files.  Their table entries are in cmd_model.c. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clip_vision.h"
#include "cmd_model.h"
#include "commands.h"
#include "image.h"
#include "image_set.h"
#include "npy.h"
#include "output.h"

/* Warnings beyond this many are counted, not printed. */
#define MAX_WARNINGS_SHOWN 10

const cmd_option load_images_options[] = {
	{ "classes", OPT_PATH, "FILE", "class names, one per line (required with FILE.csv)", NULL },
	{ "test-ratio", OPT_REAL, "R", "share of each class held out as test set without train/ and test/ (default 0.2)", NULL },
	{ "seed", OPT_INT, "S", "seed of that split (default 1)", NULL },
	{ "cache", OPT_PATH, "DIR", "folder of the feature cache (default DIR/.twinprompt-cache)", NULL },
	{ "no-cache", OPT_FLAG, NULL, "encode every image and write no cache", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

const cmd_option encode_images_options[] = {
	{ "out", OPT_PATH, "FILE.npy", "where to write the (N, P) float32 features (required)", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

/* What the callbacks of one encoding share. */
typedef struct encode_ui {
	double start;
	int n_warnings;
	int quiet;                 /* keep warnings, print none */
	char first_warning[1200];
} encode_ui;

static double wall_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int on_progress(int done, int total, void *user)
{
	encode_ui *ui = user;
	double elapsed = wall_seconds() - ui->start;
	double rate = elapsed > 0.0 ? done / elapsed : 0.0;
	char note[96];

	if (rate > 0.0) {
		long left = lround((total - done) / rate);

		snprintf(note, sizeof note, "%.1f images/s, %ld:%02ld left", rate, left / 60, left % 60);
	} else {
		snprintf(note, sizeof note, "starting");
	}
	out_progress_note("encoding images", done, total, note);
	return interrupt_requested;
}

static void on_warn(const char *message, void *user)
{
	encode_ui *ui = user;

	if (!ui->first_warning[0])
		snprintf(ui->first_warning, sizeof ui->first_warning, "%s", message);
	if (ui->quiet || ++ui->n_warnings > MAX_WARNINGS_SHOWN)
		return;
	out_progress_end();
	tp_log(TP_LOG_WARN, "%s", message);
}

static tp_status need_vision(const command *cmd, const clip_model **out)
{
	const clip_model *m = cmd_model_current();

	*out = m;
	if (!m)
		return tp_fail(TP_ERR_STATE, "%s: no CLIP model is loaded: run 'load model DIR' first", cmd->name);
	if (!m->has_vision)
		return tp_fail(TP_ERR_STATE, "%s: the model '%s' has no image encoder (no vision_model tensors): load a full CLIP checkpoint",
			       cmd->name, m->dir);
	return TP_OK;
}

static int path_is_dir(const char *path)
{
	struct stat info;

	return stat(path, &info) == 0 && S_ISDIR(info.st_mode);
}

/* The default cache folder: DIR/.twinprompt-cache, or beside a CSV file. */
static char *cache_dir_default(const char *source, int is_dir)
{
	const char *slash = strrchr(source, '/');
	size_t size = strlen(source) + 32;
	char *dir = malloc(size);

	if (!dir)
		return NULL;
	if (is_dir)
		snprintf(dir, size, "%s/.twinprompt-cache", source);
	else if (slash)
		snprintf(dir, size, "%.*s/.twinprompt-cache", (int)(slash - source), source);
	else
		snprintf(dir, size, ".twinprompt-cache");
	return dir;
}

static void report_print(const image_encode_report *r, const encode_ui *ui, int n)
{
	out_printf("images: %d listed, %d from the cache, %d encoded", n, r->n_cached, r->n_encoded);
	if (r->n_encoded > 0 && r->encode_seconds > 0.0)
		out_printf(" in %.1f s (%.1f images/s)", r->encode_seconds, r->n_encoded / r->encode_seconds);
	if (r->n_failed > 0)
		out_printf(", %d skipped (unreadable or not PNG/JPEG)", r->n_failed);
	out_printf("\n");
	if (ui->n_warnings > MAX_WARNINGS_SHOWN)
		out_printf("(%d more warnings not shown)\n", ui->n_warnings - MAX_WARNINGS_SHOWN);
	if (r->cache_path[0])
		out_printf("feature cache: %s\n", r->cache_path);
}

/* Reads the options of `load images` and the image list. */
static tp_status load_images_list(const command *cmd, const cmd_args *a, encode_ui *ui, image_list **list)
{
	const char *source = a->argv[0], *classes = cmd_str(cmd, a, "classes");

	if (path_is_dir(source)) {
		if (classes)
			return tp_fail(TP_ERR_VALUE, "load images: --classes goes with a CSV list; a folder's class names are its sub-folders");
		return image_list_scan_dir(source, on_warn, ui, list);
	}
	if (!classes)
		return tp_fail(TP_ERR_VALUE, "load images: '%s' is not a folder, so it is read as a CSV list, which needs --classes FILE with the class names",
			       source);
	return image_list_read_csv(source, classes, list);
}

tp_status cmd_load_images(workbench *wb, const command *cmd, const cmd_args *a)
{
	const clip_model *m;
	image_list *list = NULL;
	encode_ui ui = { .start = wall_seconds() };
	image_encode_options o = { NULL, 0, on_progress, on_warn, &ui };
	image_encode_report report;
	const char **paths = NULL;
	float *features = NULL;
	unsigned char *ok = NULL;
	char *cache = NULL, encoder[600];
	double test_ratio = 0.2;
	long seed = 1;
	dataset *d = NULL;
	int had_run = wb->run && train_epochs_done(wb->run) > 0;
	tp_status st = need_vision(cmd, &m);

	if (st == TP_OK && ((st = cmd_real(cmd, a, "test-ratio", 0.0, 0.99, &test_ratio)) != TP_OK ||
			    (st = cmd_int(cmd, a, "seed", 0, 4294967295L, &seed)) != TP_OK))
		return st;
	if (st == TP_OK)
		st = load_images_list(cmd, a, &ui, &list);
	if (st != TP_OK)
		return st;

	/* encode, through the cache unless --no-cache */
	if (!cmd_has(cmd, a, "no-cache")) {
		cache = cmd_str(cmd, a, "cache") ? strdup(cmd_str(cmd, a, "cache"))
						 : cache_dir_default(a->argv[0], path_is_dir(a->argv[0]));
		o.cache_dir = cache;
	}
	paths = malloc((size_t)list->n * sizeof *paths);
	features = malloc((size_t)list->n * m->proj_dim * sizeof *features);
	ok = malloc((size_t)list->n);
	if (!paths || !features || !ok || (!cache && !cmd_has(cmd, a, "no-cache")))
		st = tp_fail(TP_ERR_NOMEM, "load images: out of memory for %d images", list->n);
	for (int i = 0; st == TP_OK && i < list->n; i++)
		paths[i] = list->items[i].path;
	if (st == TP_OK) {
		st = image_set_encode(m, paths, list->n, &o, features, ok, &report);
		out_progress_end();
		report_print(&report, &ui, list->n);
	}

	/* the data set */
	snprintf(encoder, sizeof encoder, "CLIP image encoder of %s (ViT width %d, %d layers, %d px, patch %d), %d-dim features",
		 m->dir, m->vision.width, m->vision.n_layers, m->vision.image_size, m->vision.patch_size, m->proj_dim);
	if (st == TP_OK)
		st = image_set_build(list, features, ok, m->proj_dim, test_ratio, (unsigned long)seed, encoder, &d);
	if (st == TP_OK) {
		st = wb_set_data(wb, d);
		d = NULL;
	}
	if (st == TP_OK) {
		out_printf("loaded %s: %d training and %d test samples, %d classes, %d-dim features\n",
			   wb->data->name, wb->data->n_train, wb->data->n_test, wb->data->n_classes, wb->data->dim);
		out_printf("features: %s\n", wb->data->encoder);
		if (had_run)
			out_printf("the previous run and its noise were dropped\n");
	}
	dataset_free(d);
	image_list_free(list);
	free(paths);
	free(features);
	free(ok);
	free(cache);
	return st;
}

/* Adds path, or the files under it when it is a folder, to *paths. */
static tp_status encode_collect(const char *path, char ***paths, int *n)
{
	image_list *list = NULL;
	char **grown;
	tp_status st;

	if (!path_is_dir(path)) {
		grown = realloc(*paths, (size_t)(*n + 1) * sizeof *grown);
		if (!grown || !(grown[*n] = strdup(path))) {
			if (grown)
				*paths = grown;
			return tp_fail(TP_ERR_NOMEM, "encode images: out of memory");
		}
		*paths = grown;
		(*n)++;
		return TP_OK;
	}

	/* a folder: every file under it, as one class of a CSV-free list */
	st = image_list_scan_files(path, &list);
	if (st != TP_OK)
		return st;
	grown = realloc(*paths, (size_t)(*n + list->n) * sizeof *grown);
	if (!grown) {
		image_list_free(list);
		return tp_fail(TP_ERR_NOMEM, "encode images: out of memory");
	}
	*paths = grown;
	for (int i = 0; i < list->n; i++) {
		grown[(*n)++] = list->items[i].path;
		list->items[i].path = NULL;
	}
	image_list_free(list);
	return TP_OK;
}

tp_status cmd_encode_images(workbench *wb, const command *cmd, const cmd_args *a)
{
	const char *out = cmd_str(cmd, a, "out");
	const clip_model *m;
	char **paths = NULL;
	encode_ui ui = { .start = wall_seconds(), .quiet = 1 };
	image_encode_options o = { NULL, 0, on_progress, on_warn, &ui };
	image_encode_report report;
	float *features = NULL;
	unsigned char *ok = NULL;
	int n = 0;
	tp_status st = need_vision(cmd, &m);

	(void)wb;
	if (st == TP_OK && !out)
		st = tp_fail(TP_ERR_VALUE, "encode images: --out FILE.npy is required");
	for (int i = 0; st == TP_OK && i < a->argc; i++)
		st = encode_collect(a->argv[i], &paths, &n);
	if (st == TP_OK && n == 0)
		st = tp_fail(TP_ERR_VALUE, "encode images: the folders given contain no files");
	if (st == TP_OK) {
		features = malloc((size_t)n * m->proj_dim * sizeof *features);
		ok = malloc((size_t)n);
		if (!features || !ok)
			st = tp_fail(TP_ERR_NOMEM, "encode images: out of memory for %d images", n);
	}
	if (st == TP_OK) {
		st = image_set_encode(m, (const char *const *)paths, n, &o, features, ok, &report);
		out_progress_end();
	}
	if (st == TP_OK && report.n_failed > 0)
		st = tp_fail(TP_ERR_FORMAT, "encode images: %d of %d files could not be encoded, the first: %s",
			     report.n_failed, n, ui.first_warning);
	for (int i = 0; st == TP_OK && i < n; i++) {
		float *row = features + (size_t)i * m->proj_dim;
		double norm = 0.0;

		for (int j = 0; j < m->proj_dim; j++)
			norm += (double)row[j] * row[j];
		for (int j = 0; j < m->proj_dim; j++)
			row[j] = (float)(row[j] / sqrt(norm));
	}
	if (st == TP_OK)
		st = npy_write_f32(out, features, n, m->proj_dim);
	if (st == TP_OK)
		out_printf("wrote %d x %d normalised image features to %s\n", n, m->proj_dim, out);
	for (int i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(features);
	free(ok);
	return st;
}
