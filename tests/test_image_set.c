/* Image folders, CSV lists and the feature cache, on copies of the
 * committed fixture images and bad files written here: truncated PNG and
 * JPEG, a text file named .png, headers that claim billions of pixels, an
 * empty class folder.  The cache is checked for reuse, invalidation by a
 * changed file, isolation between models, resumption after an interruption,
 * and rebuilding after truncation and corruption. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <zlib.h>

#include "clip_model.h"
#include "clip_vision.h"
#include "image.h"
#include "image_set.h"
#include "tap.h"

#define FIXTURES TP_SRCDIR "/tests/fixtures/clip/vision"

static char root[256];

/* ---- files ---- */

static unsigned char *file_read(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (b = malloc((size_t)size)) != NULL && fread(b, 1, (size_t)size, f) == (size_t)size)
		*n = (size_t)size;
	fclose(f);
	return b;
}

static void file_write(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f) {
		fwrite(data, 1, n, f);
		fclose(f);
	}
}

/* Copies fixture image name to dir/as, keeping only the first keep bytes
 * when keep > 0. */
static void copy_image(const char *name, const char *dir, const char *as, size_t keep)
{
	char src[512], dst[512];
	size_t n = 0;
	unsigned char *b;

	snprintf(src, sizeof src, "%s/images/%s", FIXTURES, name);
	snprintf(dst, sizeof dst, "%s/%s", dir, as);
	b = file_read(src, &n);
	if (b)
		file_write(dst, b, keep > 0 && keep < n ? keep : n);
	free(b);
}

static void put_be32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)(v >> 24);
	b[1] = (unsigned char)(v >> 16);
	b[2] = (unsigned char)(v >> 8);
	b[3] = (unsigned char)v;
}

/* A valid PNG signature and IHDR chunk for width x height RGB, then IEND. */
static void write_huge_png(const char *path, uint32_t width, uint32_t height)
{
	unsigned char b[8 + 25 + 12] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	unsigned char *ihdr = b + 8;

	put_be32(ihdr, 13);
	memcpy(ihdr + 4, "IHDR", 4);
	put_be32(ihdr + 8, width);
	put_be32(ihdr + 12, height);
	ihdr[16] = 8;   /* bit depth */
	ihdr[17] = 2;   /* RGB */
	put_be32(ihdr + 21, (uint32_t)crc32(0L, ihdr + 4, 17));
	put_be32(b + 33, 0);
	memcpy(b + 37, "IEND", 4);
	put_be32(b + 41, (uint32_t)crc32(0L, b + 37, 4));
	file_write(path, b, sizeof b);
}

/* The fixture JPEG with its frame header claiming size x size pixels. */
static void write_huge_jpeg(const char *path, unsigned size)
{
	size_t n = 0;
	unsigned char *b = file_read(FIXTURES "/images/c.jpg", &n);

	for (size_t i = 0; b && i + 9 < n; i++)
		if (b[i] == 0xff && (b[i + 1] == 0xc0 || b[i + 1] == 0xc2)) {
			b[i + 5] = b[i + 7] = (unsigned char)(size >> 8);
			b[i + 6] = b[i + 8] = (unsigned char)size;
			break;
		}
	if (b)
		file_write(path, b, n);
	free(b);
}

/* Creates the folder root/relative. */
static void make_dir(const char *relative)
{
	char path[512];

	snprintf(path, sizeof path, "%s/%s", root, relative);
	mkdir(path, 0777);
}

/* ---- warnings ---- */

static char warnings[8192];
static int n_warnings;

static void collect(const char *message, void *user)
{
	(void)user;
	n_warnings++;
	strncat(warnings, message, sizeof warnings - strlen(warnings) - 2);
	strcat(warnings, "\n");
}

static void warnings_clear(void)
{
	warnings[0] = '\0';
	n_warnings = 0;
}

/* ---- decoding bad files ---- */

static void test_bad_files(const char *dir)
{
	static const struct { const char *file; tp_status status; const char *text; } cases[] = {
		{ "x/trunc.png", TP_ERR_FORMAT, "truncated or corrupt PNG" },
		{ "y/trunc.jpg", TP_ERR_FORMAT, "truncated or corrupt JPEG" },
		{ "y/text.png", TP_ERR_FORMAT, "is not an image, expected PNG or JPEG" },
		{ "x/huge.png", TP_ERR_FORMAT, "50000 x 50000 pixels, over the limit of 100 million" },
		{ "y/huge.jpg", TP_ERR_FORMAT, "60000 x 60000 pixels, over the limit" },
		{ "x/missing.png", TP_ERR_IO, "cannot open" },
	};

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		char path[512];
		image_rgb im;
		tp_status st;

		snprintf(path, sizeof path, "%s/%s", dir, cases[k].file);
		st = image_read(path, &im);
		if (!ok(st == cases[k].status && strstr(tp_last_error(), cases[k].text) && strstr(tp_last_error(), path),
			"bad file %s is rejected", cases[k].file))
			printf("#   status %d, message: %s\n", st, tp_last_error());
		ok(im.pixels == NULL && im.width == 0, "bad file %s leaves no pixels", cases[k].file);
	}
}

/* ---- the cache ---- */

typedef struct run_result {
	tp_status status;
	image_encode_report report;
	float *features;
	unsigned char *ok;
} run_result;

static int stop_after;

static int stop_progress(int done, int total, void *user)
{
	(void)total;
	(void)user;
	return stop_after > 0 && done >= stop_after;
}

static run_result encode_list(const clip_model *m, const image_list *l, const char *cache, size_t batch_bytes)
{
	const char **paths = malloc((size_t)l->n * sizeof *paths);
	image_encode_options o = { cache, batch_bytes, stop_progress, collect, NULL };
	run_result r;

	for (int i = 0; i < l->n; i++)
		paths[i] = l->items[i].path;
	r.features = malloc((size_t)l->n * m->proj_dim * sizeof *r.features);
	r.ok = malloc((size_t)l->n);
	warnings_clear();
	r.status = image_set_encode(m, paths, l->n, &o, r.features, r.ok, &r.report);
	free(paths);
	return r;
}

static void result_free(run_result *r)
{
	free(r->features);
	free(r->ok);
}

/* max |a - b| / max |b| over n values */
static double max_rel_diff(const float *a, const float *b, int n)
{
	double diff = 0.0, scale = 0.0;

	for (int i = 0; i < n; i++) {
		diff = fmax(diff, fabs((double)a[i] - b[i]));
		scale = fmax(scale, fabs((double)b[i]));
	}
	return scale > 0.0 ? diff / scale : diff;
}

static int count_ok(const unsigned char *flags, int n)
{
	int c = 0;

	for (int i = 0; i < n; i++)
		c += flags[i];
	return c;
}

/* The only .tpc file in dir, into path. */
static int cache_file(const char *dir, char *path, size_t size)
{
	char command[600];
	FILE *p;
	int found = 0;

	snprintf(command, sizeof command, "ls %s/*.tpc 2>/dev/null", dir);
	p = popen(command, "r");
	while (p && fgets(path, (int)size, p)) {
		path[strcspn(path, "\n")] = '\0';
		found++;
	}
	if (p)
		pclose(p);
	return found;
}

static void test_cache(const clip_model *m, const clip_model *other, const image_list *l, int n_good)
{
	char cache[512], other_cache[512], file[4200];
	int n = l->n, P = m->proj_dim;
	run_result first, again, r;
	size_t size = 0;
	unsigned char *bytes;

	snprintf(cache, sizeof cache, "%s/cache", root);
	snprintf(other_cache, sizeof other_cache, "%s/cache-other", root);

	/* first encoding: every good image, the bad ones skipped with warnings */
	first = encode_list(m, l, cache, 0);
	ok(first.status == TP_OK, "first encoding succeeds");
	is_int(first.report.n_encoded, n_good, "first encoding encodes the good images");
	is_int(first.report.n_failed, n - n_good, "bad files are counted");
	is_int(count_ok(first.ok, n), n_good, "bad files are marked");
	ok(strstr(warnings, "trunc.png") && strstr(warnings, "text.png") && strstr(warnings, "huge.jpg"),
	   "each bad file is named in a warning");
	ok(cache_file(cache, file, sizeof file) == 1 && strcmp(file, first.report.cache_path) == 0,
	   "one cache file is written");

	/* the cached features are those of a direct encoding */
	{
		int S = m->vision.image_size, i = 0;
		float *px = malloc((size_t)3 * S * S * sizeof *px), f[64];
		image_rgb im;

		while (!first.ok[i])
			i++;
		ok(image_read(l->items[i].path, &im) == TP_OK && image_clip_preprocess(&im, S, px) == TP_OK &&
		   clip_vision_encode(m, px, 1, f) == TP_OK &&
		   max_rel_diff(f, first.features + (size_t)i * P, P) < 1e-5,
		   "listed encoding equals the direct pipeline");
		image_free(&im);
		free(px);
	}

	/* a second encoding reads every feature back */
	again = encode_list(m, l, cache, 0);
	ok(again.status == TP_OK && again.report.n_cached == n_good && again.report.n_encoded == 0,
	   "second encoding reads all %d from the cache (%d cached, %d encoded)", n_good,
	   again.report.n_cached, again.report.n_encoded);
	ok(memcmp(again.features, first.features, (size_t)n * P * sizeof(float)) == 0,
	   "cached features equal the encoded ones");
	result_free(&again);

	/* a changed file is encoded again */
	{
		struct timeval times[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
		char path[512];

		snprintf(path, sizeof path, "%s/x/a1.png", root);
		copy_image("d.png", root, "x/a1.png", 0);
		utimes(path, times);
		r = encode_list(m, l, cache, 0);
		ok(r.status == TP_OK && r.report.n_cached == n_good - 1 && r.report.n_encoded == 1,
		   "a changed file is encoded again (%d cached, %d encoded)", r.report.n_cached, r.report.n_encoded);
		result_free(&r);
		r = encode_list(m, l, cache, 0);
		ok(r.report.n_cached == n_good && r.report.n_encoded == 0, "the new features are cached");
		result_free(&r);
	}

	/* another model never reads this cache, even under its file name */
	{
		char name[4200];
		size_t n_bytes = 0;
		unsigned char *b = file_read(first.report.cache_path, &n_bytes);

		r = encode_list(other, l, other_cache, 0);
		ok(r.status == TP_OK && r.report.n_cached == 0 && r.report.n_encoded == n_good,
		   "another model encodes everything itself");
		snprintf(name, sizeof name, "%s", r.report.cache_path);
		result_free(&r);
		file_write(name, b, n_bytes);
		free(b);
		r = encode_list(other, l, other_cache, 0);
		ok(r.report.n_cached == 0 && r.report.n_encoded == n_good && strstr(warnings, "another model"),
		   "a cache of another model under the same name is rebuilt");
		result_free(&r);
	}

	/* truncated: the complete records are kept */
	snprintf(file, sizeof file, "%s", first.report.cache_path);
	bytes = file_read(file, &size);
	file_write(file, bytes, size - 7);
	r = encode_list(m, l, cache, 0);
	ok(r.status == TP_OK && r.report.n_cached == n_good - 1 && r.report.n_encoded == 1 &&
	   strstr(warnings, "partial entry"),
	   "a truncated cache keeps its complete entries (%d cached, %d encoded)", r.report.n_cached,
	   r.report.n_encoded);
	result_free(&r);

	/* corrupt: one flipped byte in the first record rebuilds it */
	free(bytes);
	bytes = file_read(file, &size);
	bytes[32 + 30] ^= 0x5a;
	file_write(file, bytes, size);
	r = encode_list(m, l, cache, 0);
	ok(r.status == TP_OK && r.report.n_cached == 0 && r.report.n_encoded == n_good && strstr(warnings, "corrupt"),
	   "a corrupt cache is rebuilt with a message");
	{
		int b1 = 0;

		while (b1 < n && !strstr(l->items[b1].path, "/b1.png"))
			b1++;
		ok(b1 < n && max_rel_diff(r.features + (size_t)b1 * P, first.features + (size_t)b1 * P, P) < 1e-5,
		   "rebuilt features equal the first ones");
	}
	result_free(&r);

	/* a truncated header */
	file_write(file, bytes, 10);
	r = encode_list(m, l, cache, 0);
	ok(r.report.n_encoded == n_good && strstr(warnings, "truncated or corrupt header"),
	   "a cache with a truncated header is rebuilt");
	result_free(&r);
	free(bytes);

	/* interrupted after two images of batches of one: the next run resumes */
	{
		char fresh[512];

		snprintf(fresh, sizeof fresh, "%s/cache-resume", root);
		stop_after = 2;
		r = encode_list(m, l, fresh, clip_vision_work_bytes(m, 1));
		stop_after = 0;
		ok(r.status == TP_ERR_INTERRUPTED && strstr(tp_last_error(), "resumes"),
		   "encoding stops when asked");
		result_free(&r);
		r = encode_list(m, l, fresh, 0);
		ok(r.status == TP_OK && r.report.n_cached >= 1 && r.report.n_cached + r.report.n_encoded == n_good,
		   "the next encoding resumes (%d cached, %d encoded)", r.report.n_cached, r.report.n_encoded);
		result_free(&r);
	}
	result_free(&first);
}

/* ---- lists and data sets ---- */

static void test_lists(const image_list *l)
{
	char dir[512], csv[512], classes[512];
	image_list *s = NULL;
	dataset *d = NULL;
	FILE *f;
	unsigned char flags[64];
	float feats[64 * 4];

	is_int(l->n_classes, 2, "empty class folder left out");
	ok(strstr(warnings, "class folder 'empty' has no files") != NULL, "empty class folder warned");
	ok(strcmp(l->class_names[0], "x") == 0 && strcmp(l->class_names[1], "y") == 0, "class names from folders");

	/* split drawn per class */
	memset(flags, 1, sizeof flags);
	for (int i = 0; i < 64 * 4; i++)
		feats[i] = (float)(1 + i % 7);
	ok(l->n <= 64 && image_set_build(l, feats, flags, 4, 0.25, 3, "test", &d) == TP_OK, "data set built");
	if (d) {
		ok(d->n_train + d->n_test == l->n && d->n_test >= 2, "split keeps every image, some in test");
		is_near(d->x_train[0] * d->x_train[0] + d->x_train[1] * d->x_train[1] + d->x_train[2] * d->x_train[2] +
			d->x_train[3] * d->x_train[3], 1.0, 1e-6, "rows are L2-normalised");
		dataset_free(d);
	}

	/* the train/ and test/ layout */
	snprintf(dir, sizeof dir, "%s/split", root);
	mkdir(dir, 0777);
	make_dir("split/train");
	make_dir("split/test");
	make_dir("split/train/cat");
	make_dir("split/train/dog");
	make_dir("split/test/cat");
	make_dir("split/test/dog");
	copy_image("a.png", dir, "train/cat/1.png", 0);
	copy_image("b.png", dir, "train/cat/2.png", 0);
	copy_image("c.jpg", dir, "train/dog/1.jpg", 0);
	copy_image("d.png", dir, "test/cat/1.png", 0);
	copy_image("e.png", dir, "test/dog/1.png", 0);
	warnings_clear();
	if (ok(image_list_scan_dir(dir, collect, NULL, &s) == TP_OK, "train/test layout scanned")) {
		int tests = 0;

		for (int i = 0; i < s->n; i++)
			tests += s->items[i].split == 1;
		ok(s->n == 5 && tests == 2 && s->n_classes == 2, "layout gives the split");
		ok(image_set_build(s, feats, flags, 4, 0.5, 1, "test", &d) == TP_OK && d->n_train == 3 && d->n_test == 2,
		   "layout split kept by the data set");
		dataset_free(d);
		d = NULL;
		image_list_free(s);
	}

	/* errors: no images, one class */
	make_dir("none");
	make_dir("none/a");
	snprintf(dir, sizeof dir, "%s/none", root);
	ok(image_list_scan_dir(dir, collect, NULL, &s) == TP_ERR_VALUE && strstr(tp_last_error(), "no files in class folders"),
	   "folder without images is an error");
	copy_image("a.png", dir, "a/1.png", 0);
	ok(image_list_scan_dir(dir, collect, NULL, &s) == TP_ERR_VALUE && strstr(tp_last_error(), "at least two"),
	   "folder with one class is an error");

	/* CSV */
	snprintf(csv, sizeof csv, "%s/list.csv", root);
	snprintf(classes, sizeof classes, "%s/classes.txt", root);
	f = fopen(classes, "w");
	fprintf(f, "cat\ndog\n");
	fclose(f);
	f = fopen(csv, "w");
	fprintf(f, "path,label\nx/a1.png,cat\n\"y/c,1.jpg\",1\n%s/x/a2.png,0\n", root);
	fclose(f);
	if (ok(image_list_read_csv(csv, classes, &s) == TP_OK, "CSV read")) {
		char want[512];

		snprintf(want, sizeof want, "%s/y/c,1.jpg", root);
		ok(s->n == 3 && s->items[0].label == 0 && s->items[1].label == 1 && s->items[2].label == 0,
		   "CSV labels by name and index");
		ok(strcmp(s->items[1].path, want) == 0, "CSV quoted path, relative to the file");
		image_list_free(s);
	}
	f = fopen(csv, "w");
	fprintf(f, "x/a1.png,cat\nx/a2.png,bird\n");
	fclose(f);
	ok(image_list_read_csv(csv, classes, &s) == TP_ERR_VALUE && strstr(tp_last_error(), "line 2") &&
	   strstr(tp_last_error(), "'bird'"), "CSV unknown label names the line");
	f = fopen(csv, "w");
	fprintf(f, "x/a1.png,cat,train\nx/a2.png,dog\n");
	fclose(f);
	ok(image_list_read_csv(csv, classes, &s) == TP_ERR_FORMAT && strstr(tp_last_error(), "split column"),
	   "CSV with a split column on some lines is rejected");
}

int main(void)
{
	clip_model *m = NULL, *other = NULL;
	image_list *l = NULL;
	char dir[300];
	int n_good;

	snprintf(root, sizeof root, "/tmp/tp-image-set-XXXXXX");
	if (!mkdtemp(root)) {
		printf("1..0 # SKIP cannot create a temporary folder\n");
		return 0;
	}
	snprintf(dir, sizeof dir, "%s", root);
	make_dir("x");
	make_dir("y");
	make_dir("empty");
	copy_image("a.png", dir, "x/a1.png", 0);
	copy_image("b.png", dir, "x/b1.png", 0);
	copy_image("d.png", dir, "x/d1.png", 0);
	copy_image("a.png", dir, "x/a2.png", 0);
	copy_image("c.jpg", dir, "y/c1.jpg", 0);
	copy_image("e.png", dir, "y/e1.png", 0);
	copy_image("c.jpg", dir, "y/c,1.jpg", 0);
	n_good = 7;
	copy_image("a.png", dir, "x/trunc.png", 300);
	copy_image("c.jpg", dir, "y/trunc.jpg", 1200);
	{
		char path[512];

		snprintf(path, sizeof path, "%s/y/text.png", root);
		file_write(path, "just some words\n", 16);
		snprintf(path, sizeof path, "%s/x/huge.png", root);
		write_huge_png(path, 50000, 50000);
		snprintf(path, sizeof path, "%s/y/huge.jpg", root);
		write_huge_jpeg(path, 60000);
	}

	test_bad_files(dir);
	warnings_clear();
	if (!ok(image_list_scan_dir(dir, collect, NULL, &l) == TP_OK, "folder scanned")) {
		printf("#   %s\n", tp_last_error());
		return 1;
	}
	is_int(l->n, n_good + 5, "every file listed, good and bad");
	test_lists(l);
	if (ok(clip_model_load(FIXTURES "/vis_a", &m) == TP_OK && clip_model_load(FIXTURES "/vis_b", &other) == TP_OK,
	       "fixture models load"))
		test_cache(m, other, l, n_good);

	image_list_free(l);
	clip_model_free(m);
	clip_model_free(other);
	{
		char command[300];

		snprintf(command, sizeof command, "rm -rf '%s'", root);
		if (system(command) != 0)
			printf("# could not remove %s\n", root);
	}
	printf("1..%d\n", tap_count);
	return tap_failed != 0;
}
