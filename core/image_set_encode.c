/* Encoding an image list through the feature cache, and the dataset it
 * becomes (image_set.h). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clip_vision.h"
#include "feature_cache.h"
#include "image.h"
#include "image_set.h"
#include "rng.h"

static double now_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The state of one image_set_encode() call. */
typedef struct encode_job {
	const clip_model *m;
	const image_encode_options *o;
	char **resolved;         /* (n) real paths, the cache keys */
	file_stamp *stamps;      /* (n) */
	feature_cache *cache;    /* NULL without a cache */
	float *features;         /* (n, P) output */
	unsigned char *ok;       /* (n) output */
	image_encode_report *report;
} encode_job;

static void job_warn(const encode_job *j, const char *message)
{
	if (j->o->warn)
		j->o->warn(message, j->o->user);
}

static void cache_warn(const char *message, void *user)
{
	job_warn(user, message);
}

/* Resolves the paths, reads their stamps and opens the cache. */
static tp_status job_prepare(encode_job *j, const char *const *paths, int n)
{
	uint64_t list_key;
	tp_status st;

	j->resolved = calloc((size_t)n, sizeof *j->resolved);
	j->stamps = calloc((size_t)n, sizeof *j->stamps);
	if (!j->resolved || !j->stamps)
		return tp_fail(TP_ERR_NOMEM, "load images: out of memory for %d images", n);
	for (int i = 0; i < n; i++) {
		j->resolved[i] = realpath(paths[i], NULL);
		if (!j->resolved[i])
			j->resolved[i] = strdup(paths[i]);
		if (!j->resolved[i])
			return tp_fail(TP_ERR_NOMEM, "load images: out of memory");
	}
	if (!j->o->cache_dir)
		return TP_OK;
	list_key = feature_cache_list_key((const char *const *)j->resolved, n);
	st = feature_cache_open(j->o->cache_dir, j->m->vision_checksum, list_key, j->m->proj_dim,
				cache_warn, j, &j->cache);
	if (st == TP_ERR_NOMEM)
		return st;
	if (st != TP_OK) {
		char message[1200];

		snprintf(message, sizeof message, "%s; the features are not cached", tp_last_error());
		job_warn(j, message);
		j->cache = NULL;
		return TP_OK;
	}
	snprintf(j->report->cache_path, sizeof j->report->cache_path, "%s", feature_cache_path(j->cache));
	return TP_OK;
}

/* Marks the images whose stamp cannot be read as failed and fills those
 * the cache holds; writes the rest into todo and returns their count. */
static int job_lookup(encode_job *j, int n, int *todo)
{
	int P = j->m->proj_dim, count = 0;

	for (int i = 0; i < n; i++) {
		float *row = j->features + (size_t)i * P;

		if (file_stamp_read(j->resolved[i], &j->stamps[i]) != TP_OK) {
			job_warn(j, tp_last_error());
			j->ok[i] = 0;
			j->report->n_failed++;
		} else if (j->cache && feature_cache_find(j->cache, j->resolved[i], &j->stamps[i], row)) {
			j->ok[i] = 1;
			j->report->n_cached++;
		} else {
			todo[count++] = i;
		}
	}
	return count;
}

/* Encodes the images todo (count) in batches. */
static tp_status job_encode(encode_job *j, const int *todo, int count)
{
	const clip_model *m = j->m;
	int P = m->proj_dim, S = m->vision.image_size;
	size_t image_floats = (size_t)3 * S * S;
	int batch = clip_vision_batch_size(m, j->o->batch_bytes ? j->o->batch_bytes : (size_t)256 << 20);
	clip_vision_work *w = clip_vision_work_create(m, batch);
	float *pixels = malloc((size_t)batch * image_floats * sizeof *pixels);
	float *out = malloc((size_t)batch * P * sizeof *out);
	int *rows = malloc((size_t)batch * sizeof *rows);
	double start = now_seconds();
	tp_status st = TP_OK;
	int next = 0;

	if (!w || !pixels || !out || !rows)
		st = tp_fail(TP_ERR_NOMEM, "load images: out of memory for a batch of %d images (%zu MB)", batch,
			     clip_vision_work_bytes(m, batch) >> 20);
	while (st == TP_OK && next < count) {
		int filled = 0;

		/* decode and preprocess up to a batch of readable images */
		while (filled < batch && next < count) {
			int i = todo[next++];
			image_rgb im;

			j->ok[i] = 0;
			if (image_read(j->resolved[i], &im) != TP_OK ||
			    image_clip_preprocess(&im, S, pixels + (size_t)filled * image_floats) != TP_OK) {
				job_warn(j, tp_last_error());
				j->report->n_failed++;
				image_free(&im);
				continue;
			}
			image_free(&im);
			rows[filled++] = i;
		}
		if (filled > 0)
			st = clip_vision_forward(m, w, pixels, filled, out);
		for (int k = 0; k < filled && st == TP_OK; k++) {
			int i = rows[k];

			memcpy(j->features + (size_t)i * P, out + (size_t)k * P, (size_t)P * sizeof *out);
			j->ok[i] = 1;
			j->report->n_encoded++;
			if (j->cache && feature_cache_add(j->cache, j->resolved[i], &j->stamps[i], out + (size_t)k * P) != TP_OK) {
				char message[1200];

				snprintf(message, sizeof message, "%s; the remaining features are not cached", tp_last_error());
				job_warn(j, message);
				feature_cache_close(j->cache);
				j->cache = NULL;
			}
		}
		j->report->encode_seconds = now_seconds() - start;
		if (st == TP_OK && j->o->progress && j->o->progress(next, count, j->o->user) != 0)
			st = tp_fail(TP_ERR_INTERRUPTED, "load images: interrupted after %d of %d images; the cache keeps them, so running the command again resumes",
				     next, count);
	}
	clip_vision_work_free(w);
	free(pixels);
	free(out);
	free(rows);
	return st;
}

tp_status image_set_encode(const clip_model *m, const char *const *paths, int n,
			   const image_encode_options *o, float *features, unsigned char *ok,
			   image_encode_report *report)
{
	encode_job j = { m, o, NULL, NULL, NULL, features, ok, report };
	int *todo = malloc((size_t)(n > 0 ? n : 1) * sizeof *todo);
	int count = 0;
	tp_status st;

	memset(report, 0, sizeof *report);
	memset(features, 0, (size_t)n * m->proj_dim * sizeof *features);
	if (!m->has_vision) {
		free(todo);
		return tp_fail(TP_ERR_STATE, "load images: the model '%s' has no image encoder (no vision_model tensors): load a full CLIP checkpoint",
			       m->dir);
	}
	st = todo ? job_prepare(&j, paths, n) : tp_fail(TP_ERR_NOMEM, "load images: out of memory");
	if (st == TP_OK) {
		count = job_lookup(&j, n, todo);
		st = job_encode(&j, todo, count);
	}

	/* drop records of changed or removed files once the list is complete */
	if (st == TP_OK && j.cache && feature_cache_stale(j.cache, (const char *const *)j.resolved, n) > 0 &&
	    feature_cache_compact(j.cache, (const char *const *)j.resolved, n) != TP_OK)
		job_warn(&j, tp_last_error());
	feature_cache_close(j.cache);
	for (int i = 0; j.resolved && i < n; i++)
		free(j.resolved[i]);
	free(j.resolved);
	free(j.stamps);
	free(todo);
	return st;
}

/* ---- the dataset ---- */

/* Sets split[i] (0 train, 1 test) of the usable images: from the list, or
 * round(test_ratio n_c) drawn at random from each class c. */
static tp_status split_draw(const image_list *l, const unsigned char *ok, double test_ratio,
			    unsigned long seed, int *split)
{
	rng *r = rng_create(seed);
	int *members = malloc((size_t)l->n * sizeof *members);

	if (!r || !members) {
		rng_free(r);
		free(members);
		return tp_fail(TP_ERR_NOMEM, "load images: out of memory for the split");
	}
	for (int c = 0; c < l->n_classes; c++) {
		int count = 0, n_test;

		for (int i = 0; i < l->n; i++)
			if (ok[i] && l->items[i].label == c) {
				if (l->items[i].split >= 0)
					split[i] = l->items[i].split;
				else
					members[count++] = i;
			}
		n_test = (int)floor(count * test_ratio + 0.5);
		rng_shuffle_int(r, members, (size_t)count);
		for (int k = 0; k < count; k++)
			split[members[k]] = k < n_test;
	}
	rng_free(r);
	free(members);
	return TP_OK;
}

static tp_status dataset_fill(dataset *d, const image_list *l, const float *features, const unsigned char *ok,
			      const int *split)
{
	int D = d->dim, tr = 0, te = 0;

	for (int i = 0; i < l->n; i++) {
		if (ok[i] && split[i])
			d->n_test++;
		else if (ok[i])
			d->n_train++;
	}
	if (d->n_train == 0 || d->n_test == 0)
		return tp_fail(TP_ERR_VALUE, "load images: %d training and %d test images after the split: each side needs at least one, so add images or change --test-ratio",
			       d->n_train, d->n_test);
	d->x_train = malloc((size_t)d->n_train * D * sizeof *d->x_train);
	d->y_train = malloc((size_t)d->n_train * sizeof *d->y_train);
	d->train_index = malloc((size_t)d->n_train * sizeof *d->train_index);
	d->x_test = malloc((size_t)d->n_test * D * sizeof *d->x_test);
	d->y_test = malloc((size_t)d->n_test * sizeof *d->y_test);
	if (!d->x_train || !d->y_train || !d->train_index || !d->x_test || !d->y_test)
		return tp_fail(TP_ERR_NOMEM, "load images: out of memory for %d images", d->n_train + d->n_test);
	for (int i = 0; i < l->n; i++) {
		const float *src = features + (size_t)i * D;
		float *dst;
		double norm = 0.0;

		if (!ok[i])
			continue;
		if (split[i]) {
			dst = d->x_test + (size_t)te * D;
			d->y_test[te++] = l->items[i].label;
		} else {
			dst = d->x_train + (size_t)tr * D;
			d->y_train[tr] = l->items[i].label;
			d->train_index[tr] = tr;
			tr++;
		}
		for (int k = 0; k < D; k++)
			norm += (double)src[k] * src[k];
		if (!(norm > 0.0) || !isfinite(norm))
			return tp_fail(TP_ERR_VALUE, "load images: the features of '%s' have norm %g: the model's weights are broken",
				       l->items[i].path, sqrt(norm));
		for (int k = 0; k < D; k++)
			dst[k] = (float)(src[k] / sqrt(norm));
	}
	return TP_OK;
}

tp_status image_set_build(const image_list *l, const float *features, const unsigned char *ok, int dim,
			  double test_ratio, unsigned long seed, const char *encoder, dataset **out)
{
	dataset *d = calloc(1, sizeof *d);
	int *split = malloc((size_t)(l->n > 0 ? l->n : 1) * sizeof *split);
	tp_status st = TP_OK;

	*out = NULL;
	if (!d || !split)
		st = tp_fail(TP_ERR_NOMEM, "load images: out of memory");
	if (st == TP_OK && !(test_ratio >= 0.0 && test_ratio < 1.0))
		st = tp_fail(TP_ERR_VALUE, "load images: test ratio %g is outside [0, 1): give a fraction such as 0.2", test_ratio);
	if (st == TP_OK) {
		d->dim = dim;
		d->n_classes = l->n_classes;
		d->name = strdup(l->source);
		d->encoder = strdup(encoder);
		d->class_names = calloc((size_t)l->n_classes, sizeof *d->class_names);
		if (!d->name || !d->encoder || !d->class_names)
			st = tp_fail(TP_ERR_NOMEM, "load images: out of memory");
		for (int c = 0; c < l->n_classes && st == TP_OK; c++)
			if (!(d->class_names[c] = strdup(l->class_names[c])))
				st = tp_fail(TP_ERR_NOMEM, "load images: out of memory");
	}
	if (st == TP_OK)
		st = split_draw(l, ok, test_ratio, seed, split);
	if (st == TP_OK)
		st = dataset_fill(d, l, features, ok, split);
	free(split);
	if (st != TP_OK) {
		dataset_free(d);
		return st;
	}
	*out = d;
	return TP_OK;
}
