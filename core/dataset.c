#define _POSIX_C_SOURCE 200809L

#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "dataset.h"
#include "idx.h"
#include "npy.h"
#include "pca.h"

const char *const fmnist_class_names[10] = {
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

void fmnist_options_default(fmnist_options *o)
{
	o->dir = NULL;
	o->dim = 128;
	o->n_train = 0;
	o->n_test = 0;
	o->shots = 0;
	o->seed = 1;
}

void features_options_default(features_options *o)
{
	memset(o, 0, sizeof *o);
	o->test_ratio = 0.2;
	o->shots = 0;
	o->seed = 1;
}

static void dataset_free_names(char **names, int n)
{
	if (!names)
		return;
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void dataset_free(dataset *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->encoder);
	dataset_free_names(d->class_names, d->n_classes);
	free(d->x_train);
	free(d->y_train);
	free(d->train_index);
	free(d->x_test);
	free(d->y_test);
	free(d->text_features);
	free(d);
}

/* ---- shared steps ---- */

/* Divides every row of x (n, d) by its L2 norm.  row_label names the rows in
 * the error message, e.g. "'x.npy' row". */
static tp_status dataset_normalise_rows(float *x, int n, int d, const char *operation, const char *row_label)
{
	for (int i = 0; i < n; i++) {
		float *row = x + (size_t)i * (size_t)d;
		double sum = 0.0;

		for (int j = 0; j < d; j++)
			sum += (double)row[j] * row[j];
		if (!(sum > 0.0))
			return tp_fail(TP_ERR_VALUE, "%s: %s %d has zero norm: remove the row or give it a non-zero feature vector",
				       operation, row_label, i);
		for (int j = 0; j < d; j++)
			row[j] = (float)(row[j] / sqrt(sum));
	}
	return TP_OK;
}

/* Checks that every label is in 0..n_classes-1. */
static tp_status dataset_check_labels(const int *y, int n, int n_classes, const char *operation,
				      const char *path, const char *classes_source)
{
	for (int i = 0; i < n; i++)
		if (y[i] < 0 || y[i] >= n_classes)
			return tp_fail(TP_ERR_VALUE,
				       "%s: label %d at index %d of '%s' is outside 0..%d (%d classes in %s): fix the label or add class names",
				       operation, y[i], i, path, n_classes - 1, n_classes, classes_source);
	return TP_OK;
}

static int dataset_compare_ints(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Chooses shots samples of each class from the n samples with labels y and
 * returns their positions in 0..n-1, ascending, in *chosen (n_classes * shots,
 * malloc'd).  gsl_ran_choose keeps each class's samples in their order. */
static tp_status dataset_choose_shots(const int *y, int n, int n_classes, const char *const *class_names,
				      int shots, gsl_rng *rng, const char *operation, int **chosen)
{
	int *members = malloc((size_t)n * sizeof *members);                         /* (count of class c) */
	int *out = malloc((size_t)n_classes * (size_t)shots * sizeof *out);         /* (n_classes * shots) */

	if (!members || !out) {
		free(members);
		free(out);
		return tp_fail(TP_ERR_NOMEM, "%s: no memory for few-shot sampling", operation);
	}
	for (int c = 0; c < n_classes; c++) {
		int count = 0;

		for (int i = 0; i < n; i++)
			if (y[i] == c)
				members[count++] = i;
		if (count < shots) {
			free(members);
			free(out);
			return tp_fail(TP_ERR_VALUE,
				       "%s: class %d '%s' has %d training samples, fewer than %d shots: lower shots to at most %d or load more samples",
				       operation, c, class_names[c], count, shots, count);
		}
		gsl_ran_choose(rng, out + (size_t)c * (size_t)shots, (size_t)shots, members, (size_t)count, sizeof *members);
	}
	free(members);
	qsort(out, (size_t)n_classes * (size_t)shots, sizeof *out, dataset_compare_ints);
	*chosen = out;
	return TP_OK;
}

/* Copies rows positions[0..m-1] of x (n, dim) and y into the training set of
 * ds, and source[positions[i]] into train_index (source NULL: the position). */
static tp_status dataset_take_train(dataset *ds, const float *x, const int *y, const int *source,
				    const int *positions, int m, const char *operation)
{
	size_t row_bytes = (size_t)ds->dim * sizeof(float);

	ds->x_train = malloc((size_t)m * row_bytes);
	ds->y_train = malloc((size_t)m * sizeof *ds->y_train);
	ds->train_index = malloc((size_t)m * sizeof *ds->train_index);
	if (!ds->x_train || !ds->y_train || !ds->train_index)
		return tp_fail(TP_ERR_NOMEM, "%s: no memory for %d training samples of dimension %d", operation, m, ds->dim);
	for (int i = 0; i < m; i++) {
		int p = positions[i];

		memcpy(ds->x_train + (size_t)i * (size_t)ds->dim, x + (size_t)p * (size_t)ds->dim, row_bytes);
		ds->y_train[i] = y[p];
		ds->train_index[i] = source ? source[p] : p;
	}
	ds->n_train = m;
	return TP_OK;
}

/* Sets the training set of ds to all n samples, or to shots samples per class
 * when shots > 0.  source maps each sample to its source row (NULL: identity). */
static tp_status dataset_set_train(dataset *ds, const float *x, const int *y, const int *source, int n,
				   int shots, gsl_rng *rng, const char *operation)
{
	int *positions = NULL; /* (m) chosen sample positions */
	int m;
	tp_status st;

	if (shots > 0) {
		st = dataset_choose_shots(y, n, ds->n_classes, (const char *const *)ds->class_names, shots, rng,
					  operation, &positions);
		if (st != TP_OK)
			return st;
		m = ds->n_classes * shots;
	} else {
		positions = malloc((size_t)n * sizeof *positions);
		if (!positions)
			return tp_fail(TP_ERR_NOMEM, "%s: no memory for %d sample indices", operation, n);
		for (int i = 0; i < n; i++)
			positions[i] = i;
		m = n;
	}
	st = dataset_take_train(ds, x, y, source, positions, m, operation);
	free(positions);
	return st;
}

static gsl_rng *dataset_rng_alloc(unsigned long seed)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);

	if (rng)
		gsl_rng_set(rng, seed);
	return rng;
}

static char *dataset_strdup(const char *s)
{
	size_t len = strlen(s) + 1;
	char *copy = malloc(len);

	if (copy)
		memcpy(copy, s, len);
	return copy;
}

/* ---- Fashion-MNIST ---- */

/* Sets *path to dir/base.gz if that file can be opened, else to dir/base. */
static tp_status fmnist_find_file(const char *dir, const char *base, char **path)
{
	size_t size = strlen(dir) + strlen(base) + 5;
	char *candidate = malloc(size);
	FILE *f;

	if (!candidate)
		return tp_fail(TP_ERR_NOMEM, "load fashion-mnist: no memory for a file name");
	snprintf(candidate, size, "%s/%s.gz", dir, base);
	f = fopen(candidate, "rb");
	if (!f) {
		snprintf(candidate, size, "%s/%s", dir, base);
		f = fopen(candidate, "rb");
	}
	if (!f) {
		tp_status st = tp_fail(TP_ERR_IO,
				       "load fashion-mnist: neither '%s.gz' nor '%s' can be opened (%s): install the Debian package dataset-fashion-mnist or give the folder that contains the IDX files",
				       candidate, candidate, strerror(errno));

		free(candidate);
		return st;
	}
	fclose(f);
	*path = candidate;
	return TP_OK;
}

/* One split of Fashion-MNIST as read from its two IDX files. */
typedef struct fmnist_split {
	char *images_path;
	char *labels_path;
	uint8_t *pixels;   /* (n, rows, cols) */
	uint8_t *labels;   /* (n) */
	int n, rows, cols;
} fmnist_split;

static void fmnist_split_free(fmnist_split *s)
{
	free(s->images_path);
	free(s->labels_path);
	free(s->pixels);
	free(s->labels);
}

/* Reads the images and labels of one split, checks that their counts match
 * and that every label is a Fashion-MNIST class, and keeps the first limit
 * samples (0: all). */
static tp_status fmnist_read_split(const char *dir, const char *images, const char *labels, int limit,
				   const char *limit_name, fmnist_split *s)
{
	const char *operation = "load fashion-mnist";
	int n_labels;
	tp_status st;

	st = fmnist_find_file(dir, images, &s->images_path);
	if (st == TP_OK)
		st = fmnist_find_file(dir, labels, &s->labels_path);
	if (st == TP_OK)
		st = idx_read_images(s->images_path, &s->pixels, &s->n, &s->rows, &s->cols);
	if (st == TP_OK)
		st = idx_read_labels(s->labels_path, &s->labels, &n_labels);
	if (st != TP_OK)
		return st;

	if (n_labels != s->n)
		return tp_fail(TP_ERR_SHAPE, "%s: '%s' has %d images but '%s' has %d labels: the files do not belong together",
			       operation, s->images_path, s->n, s->labels_path, n_labels);
	for (int i = 0; i < s->n; i++)
		if (s->labels[i] >= 10)
			return tp_fail(TP_ERR_FORMAT, "%s: label %d at index %d of '%s' is outside 0..9: the file is not Fashion-MNIST",
				       operation, s->labels[i], i, s->labels_path);
	if (limit < 0 || limit > s->n)
		return tp_fail(TP_ERR_VALUE, "%s: %s %d is outside 0..%d, the number of images in '%s': give at most %d, or 0 for all",
			       operation, limit_name, limit, s->n, s->images_path, s->n);
	if (limit > 0)
		s->n = limit;
	return TP_OK;
}

/* Converts the first s->n images to floats in [0, 1], (n, rows * cols). */
static float *fmnist_pixels_to_float(const fmnist_split *s)
{
	size_t count = (size_t)s->n * (size_t)s->rows * (size_t)s->cols;
	float *x = malloc(count * sizeof *x);

	if (x)
		for (size_t i = 0; i < count; i++)
			x[i] = s->pixels[i] / 255.0f;
	return x;
}

/* Encodes the first s->n images of a split with pca into a new (n, dim)
 * array of L2-normalised rows. */
static tp_status fmnist_encode(const pca_model *pca, const fmnist_split *s, const char *split_name, float **out)
{
	float *pixels = fmnist_pixels_to_float(s); /* (n, rows * cols) */
	float *features;                           /* (n, dim) */
	char row_label[64];
	tp_status st;

	if (!pixels)
		return tp_fail(TP_ERR_NOMEM, "load fashion-mnist: no memory for %d %s images", s->n, split_name);
	features = malloc((size_t)s->n * (size_t)pca->out_dim * sizeof *features);
	if (!features) {
		free(pixels);
		return tp_fail(TP_ERR_NOMEM, "load fashion-mnist: no memory for %d %s features", s->n, split_name);
	}
	pca_transform(pca, pixels, s->n, features);
	free(pixels);
	snprintf(row_label, sizeof row_label, "encoded %s image", split_name);
	st = dataset_normalise_rows(features, s->n, pca->out_dim, "load fashion-mnist", row_label);
	if (st != TP_OK) {
		free(features);
		return st;
	}
	*out = features;
	return TP_OK;
}

static tp_status fmnist_check_options(const fmnist_options *o)
{
	const char *operation = "load fashion-mnist";

	if (o->dim < 1)
		return tp_fail(TP_ERR_VALUE, "%s: dim %d is invalid: give 1 to 784 PCA components", operation, o->dim);
	if (o->n_train < 0)
		return tp_fail(TP_ERR_VALUE, "%s: n_train %d is negative: give a count, or 0 for all", operation, o->n_train);
	if (o->n_test < 0)
		return tp_fail(TP_ERR_VALUE, "%s: n_test %d is negative: give a count, or 0 for all", operation, o->n_test);
	if (o->shots < 0)
		return tp_fail(TP_ERR_VALUE, "%s: shots %d is negative: give 0 for all samples or K > 0", operation, o->shots);
	return TP_OK;
}

/* Fits the PCA encoder on the training split and fills the features of ds. */
static tp_status fmnist_build(const fmnist_options *o, const fmnist_split *train, const fmnist_split *test, dataset *ds)
{
	const char *operation = "load fashion-mnist";
	int pixels = train->rows * train->cols;
	float *x_train = NULL; /* (train->n, dim) all training features before few-shot sampling */
	float *train_pixels;   /* (train->n, pixels) */
	int *y_train = NULL;   /* (train->n) */
	pca_model *pca = NULL;
	gsl_rng *rng = NULL;
	tp_status st;

	if (test->rows != train->rows || test->cols != train->cols)
		return tp_fail(TP_ERR_SHAPE, "%s: test images in '%s' are %d x %d but training images in '%s' are %d x %d",
			       operation, test->images_path, test->rows, test->cols, train->images_path, train->rows, train->cols);
	if (o->dim > pixels)
		return tp_fail(TP_ERR_VALUE, "%s: dim %d exceeds the %d pixels of an image: give at most %d", operation, o->dim, pixels, pixels);
	/* n centred samples span at most n - 1 directions */
	if (o->dim > train->n - 1)
		return tp_fail(TP_ERR_VALUE, "%s: dim %d needs at least %d training images but %d are used: lower dim or raise n_train",
			       operation, o->dim, o->dim + 1, train->n);

	/* the encoder: PCA fitted on all used training images, before few-shot sampling */
	train_pixels = fmnist_pixels_to_float(train);
	if (!train_pixels)
		return tp_fail(TP_ERR_NOMEM, "%s: no memory for %d training images", operation, train->n);
	st = pca_fit(train_pixels, train->n, pixels, o->dim, &pca);
	free(train_pixels);
	if (st != TP_OK)
		return st;
	if (pca->eigenvalues[o->dim - 1] < 1e-6 * pca->eigenvalues[0])
		tp_log(TP_LOG_WARN, "%s: PCA component %d has eigenvalue %.3g, below 1e-6 of the largest (%.3g): lower dim to drop near-constant directions",
		       operation, o->dim, pca->eigenvalues[o->dim - 1], pca->eigenvalues[0]);

	st = fmnist_encode(pca, train, "training", &x_train);
	if (st == TP_OK)
		st = fmnist_encode(pca, test, "test", &ds->x_test);
	pca_free(pca);
	if (st != TP_OK)
		goto done;

	ds->n_test = test->n;
	ds->y_test = malloc((size_t)test->n * sizeof *ds->y_test);
	y_train = malloc((size_t)train->n * sizeof *y_train);
	rng = dataset_rng_alloc(o->seed);
	if (!ds->y_test || !y_train || !rng) {
		st = tp_fail(TP_ERR_NOMEM, "%s: no memory for the labels", operation);
		goto done;
	}
	for (int i = 0; i < test->n; i++)
		ds->y_test[i] = test->labels[i];
	for (int i = 0; i < train->n; i++)
		y_train[i] = train->labels[i];
	st = dataset_set_train(ds, x_train, y_train, NULL, train->n, o->shots, rng, operation);

done:
	free(x_train);
	free(y_train);
	if (rng)
		gsl_rng_free(rng);
	return st;
}

static int fmnist_names_complete(const dataset *ds)
{
	if (ds->n_classes != 10)
		return 0;
	for (int c = 0; c < 10; c++)
		if (!ds->class_names[c])
			return 0;
	return 1;
}

tp_status dataset_load_fashion_mnist(const fmnist_options *o, dataset **out)
{
	const char *dir = o->dir ? o->dir : FMNIST_DEFAULT_DIR;
	fmnist_split train = { 0 }, test = { 0 };
	char encoder[128];
	dataset *ds;
	tp_status st = fmnist_check_options(o);

	if (st != TP_OK)
		return st;
	st = fmnist_read_split(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", o->n_train, "n_train", &train);
	if (st == TP_OK)
		st = fmnist_read_split(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", o->n_test, "n_test", &test);
	if (st != TP_OK) {
		fmnist_split_free(&train);
		fmnist_split_free(&test);
		return st;
	}

	ds = calloc(1, sizeof *ds);
	snprintf(encoder, sizeof encoder, "PCA-whitened pixels, %d dims (built-in stand-in for CLIP image features)", o->dim);
	if (ds) {
		ds->dim = o->dim;
		ds->name = dataset_strdup("fashion-mnist");
		ds->encoder = dataset_strdup(encoder);
		ds->class_names = calloc(10, sizeof *ds->class_names);
		if (ds->class_names)
			ds->n_classes = 10;
		for (int c = 0; c < ds->n_classes; c++)
			ds->class_names[c] = dataset_strdup(fmnist_class_names[c]);
	}
	if (!ds || !ds->name || !ds->encoder || !fmnist_names_complete(ds))
		st = tp_fail(TP_ERR_NOMEM, "load fashion-mnist: no memory for the dataset");
	else
		st = fmnist_build(o, &train, &test, ds);
	fmnist_split_free(&train);
	fmnist_split_free(&test);
	if (st != TP_OK) {
		dataset_free(ds);
		return st;
	}
	*out = ds;
	return TP_OK;
}

/* ---- text inputs: class names and labels ---- */

/* Returns line with surrounding whitespace removed, in place. */
static char *dataset_trim(char *line)
{
	char *end;

	while (isspace((unsigned char)*line))
		line++;
	end = line + strlen(line);
	while (end > line && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	return line;
}

tp_status dataset_read_class_names(const char *path, char ***names, int *n)
{
	const char *operation = "read class names";
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t line_size = 0;
	char **list = NULL;  /* (count) */
	int *lines = NULL;   /* (count) line number of each name */
	int count = 0, capacity = 0, line_number = 0;
	tp_status st = TP_OK;

	if (!f)
		return tp_fail(TP_ERR_IO, "%s: cannot open '%s': %s", operation, path, strerror(errno));
	while (getline(&line, &line_size, f) != -1) {
		char *name = dataset_trim(line);

		line_number++;
		if (*name == '\0')
			continue;
		for (int i = 0; i < count; i++)
			if (strcmp(list[i], name) == 0) {
				st = tp_fail(TP_ERR_VALUE, "%s: '%s' lines %d and %d both name the class '%s': give each class once",
					     operation, path, lines[i], line_number, name);
				goto done;
			}
		if (count == capacity) {
			int grown_capacity = capacity ? 2 * capacity : 16;
			char **grown = realloc(list, (size_t)grown_capacity * sizeof *grown);
			int *grown_lines = grown ? realloc(lines, (size_t)grown_capacity * sizeof *grown_lines) : NULL;

			if (grown)
				list = grown;
			if (!grown || !grown_lines) {
				st = tp_fail(TP_ERR_NOMEM, "%s: no memory for the class names of '%s'", operation, path);
				goto done;
			}
			lines = grown_lines;
			capacity = grown_capacity;
		}
		list[count] = dataset_strdup(name);
		if (!list[count]) {
			st = tp_fail(TP_ERR_NOMEM, "%s: no memory for the class names of '%s'", operation, path);
			goto done;
		}
		lines[count++] = line_number;
	}
	if (ferror(f))
		st = tp_fail(TP_ERR_IO, "%s: reading '%s' failed: %s", operation, path, strerror(errno));
	else if (count == 0)
		st = tp_fail(TP_ERR_VALUE, "%s: '%s' contains no class names: write one name per line", operation, path);

done:
	free(line);
	free(lines);
	fclose(f);
	if (st != TP_OK) {
		dataset_free_names(list, count);
		return st;
	}
	*names = list;
	*n = count;
	return TP_OK;
}

static int dataset_has_suffix(const char *s, const char *suffix)
{
	size_t len = strlen(s), suffix_len = strlen(suffix);

	return len >= suffix_len && strcmp(s + len - suffix_len, suffix) == 0;
}

/* Parses a text label file: one integer per line, surrounding whitespace and
 * trailing blank lines ignored.  A blank line followed by more labels is an
 * error, because it would shift every later label by one row. */
static tp_status dataset_read_text_labels(const char *path, int **labels, int *n)
{
	const char *operation = "read labels";
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t line_size = 0;
	int *list = NULL; /* (count) */
	int count = 0, capacity = 0, line_number = 0, first_blank = 0;
	tp_status st = TP_OK;

	if (!f)
		return tp_fail(TP_ERR_IO, "%s: cannot open '%s': %s", operation, path, strerror(errno));
	while (getline(&line, &line_size, f) != -1) {
		char *text = dataset_trim(line);
		char *end;
		long value;

		line_number++;
		if (*text == '\0') {
			if (!first_blank)
				first_blank = line_number;
			continue;
		}
		if (first_blank) {
			st = tp_fail(TP_ERR_FORMAT, "%s: '%s' line %d is blank but labels follow it: give one integer per line",
				     operation, path, first_blank);
			break;
		}
		errno = 0;
		value = strtol(text, &end, 10);
		if (*end != '\0' || end == text) {
			st = tp_fail(TP_ERR_FORMAT, "%s: '%s' line %d: '%s' is not an integer: give one integer label per line",
				     operation, path, line_number, text);
			break;
		}
		if (errno == ERANGE || value > INT_MAX || value < INT_MIN) {
			st = tp_fail(TP_ERR_VALUE, "%s: '%s' line %d: %s does not fit an int", operation, path, line_number, text);
			break;
		}
		if (count == capacity) {
			int grown_capacity = capacity ? 2 * capacity : 1024;
			int *grown = realloc(list, (size_t)grown_capacity * sizeof *grown);

			if (!grown) {
				st = tp_fail(TP_ERR_NOMEM, "%s: no memory for the labels of '%s'", operation, path);
				break;
			}
			list = grown;
			capacity = grown_capacity;
		}
		list[count++] = (int)value;
	}
	if (st == TP_OK && ferror(f))
		st = tp_fail(TP_ERR_IO, "%s: reading '%s' failed: %s", operation, path, strerror(errno));
	if (st == TP_OK && count == 0)
		st = tp_fail(TP_ERR_VALUE, "%s: '%s' contains no labels: write one integer per line", operation, path);
	free(line);
	fclose(f);
	if (st != TP_OK) {
		free(list);
		return st;
	}
	*labels = list;
	*n = count;
	return TP_OK;
}

tp_status dataset_read_labels(const char *path, int **labels, int *n)
{
	if (dataset_has_suffix(path, ".npy"))
		return npy_read_labels(path, labels, n);
	return dataset_read_text_labels(path, labels, n);
}

/* ---- user features ---- */

/* A features file with its labels, as read and checked. */
typedef struct features_part {
	float *x;   /* (n, dim), L2-normalised after features_read_part */
	int *y;     /* (n) */
	int n, dim;
} features_part;

/* Reads a features file and its labels, checks the label count and range,
 * and L2-normalises the rows. */
static tp_status features_read_part(const char *features, const char *labels, int n_classes,
				    const char *classes, features_part *part)
{
	const char *operation = "load features";
	char row_label[1024];
	char classes_source[1024];
	int n_labels;
	tp_status st;

	st = npy_read_matrix(features, &part->x, &part->n, &part->dim);
	if (st != TP_OK)
		return st;
	st = dataset_read_labels(labels, &part->y, &n_labels);
	if (st != TP_OK)
		return st;
	if (n_labels != part->n)
		return tp_fail(TP_ERR_SHAPE, "%s: '%s' has %d rows but '%s' has %d labels: give one label per feature row",
			       operation, features, part->n, labels, n_labels);
	snprintf(classes_source, sizeof classes_source, "'%s'", classes);
	st = dataset_check_labels(part->y, part->n, n_classes, operation, labels, classes_source);
	if (st != TP_OK)
		return st;
	snprintf(row_label, sizeof row_label, "'%s' row", features);
	return dataset_normalise_rows(part->x, part->n, part->dim, operation, row_label);
}

static tp_status features_check_options(const features_options *o)
{
	const char *operation = "load features";

	if (!o->features)
		return tp_fail(TP_ERR_VALUE, "%s: no features file given: give an (N, D) float32 or float64 .npy file", operation);
	if (!o->labels)
		return tp_fail(TP_ERR_VALUE, "%s: no labels file given for '%s': give a .npy or text file of N integer labels",
			       operation, o->features);
	if (!o->classes)
		return tp_fail(TP_ERR_VALUE, "%s: no class names file given: give a text file with one class name per line", operation);
	if (o->test_features && !o->test_labels)
		return tp_fail(TP_ERR_VALUE, "%s: test features '%s' have no labels file: give the test labels too",
			       operation, o->test_features);
	if (o->test_labels && !o->test_features)
		return tp_fail(TP_ERR_VALUE, "%s: test labels '%s' have no features file: give the test features too",
			       operation, o->test_labels);
	if (!o->test_features && !(o->test_ratio > 0.0 && o->test_ratio < 1.0))
		return tp_fail(TP_ERR_VALUE, "%s: test ratio %g is outside (0, 1): give a fraction such as 0.2, or a test file",
			       operation, o->test_ratio);
	if (o->shots < 0)
		return tp_fail(TP_ERR_VALUE, "%s: shots %d is negative: give 0 for all samples or K > 0", operation, o->shots);
	return TP_OK;
}

/* Splits all (n rows) at random into n_test test rows, stored in ds, and
 * the remaining training rows, whose source rows are written to train_rows. */
static tp_status features_split(const features_options *o, const features_part *all, gsl_rng *rng,
				dataset *ds, int *train_rows, int *n_train)
{
	const char *operation = "load features";
	int n = all->n;
	int n_test = (int)floor(n * o->test_ratio + 0.5);
	int *order; /* (n) shuffled row indices */

	if (n_test < 1 || n_test > n - 1)
		return tp_fail(TP_ERR_VALUE,
			       "%s: test ratio %g of %d samples gives %d test and %d training samples: each side needs at least one, so change the ratio or give a test file",
			       operation, o->test_ratio, n, n_test, n - n_test);
	order = malloc((size_t)n * sizeof *order);
	ds->x_test = malloc((size_t)n_test * (size_t)all->dim * sizeof *ds->x_test);
	ds->y_test = malloc((size_t)n_test * sizeof *ds->y_test);
	if (!order || !ds->x_test || !ds->y_test) {
		free(order);
		return tp_fail(TP_ERR_NOMEM, "%s: no memory to split %d samples", operation, n);
	}
	for (int i = 0; i < n; i++)
		order[i] = i;
	gsl_ran_shuffle(rng, order, (size_t)n, sizeof *order);

	/* each side keeps the file's row order */
	qsort(order, (size_t)n_test, sizeof *order, dataset_compare_ints);
	qsort(order + n_test, (size_t)(n - n_test), sizeof *order, dataset_compare_ints);
	for (int i = 0; i < n_test; i++) {
		memcpy(ds->x_test + (size_t)i * (size_t)all->dim, all->x + (size_t)order[i] * (size_t)all->dim,
		       (size_t)all->dim * sizeof *ds->x_test);
		ds->y_test[i] = all->y[order[i]];
	}
	ds->n_test = n_test;
	memcpy(train_rows, order + n_test, (size_t)(n - n_test) * sizeof *train_rows);
	*n_train = n - n_test;
	free(order);
	return TP_OK;
}

/* Reads the optional text features, checks their shape (C, D) and
 * L2-normalises them, like the image features they are compared with. */
static tp_status features_read_text(const features_options *o, dataset *ds)
{
	const char *operation = "load features";
	char row_label[1024];
	int rows, cols;
	tp_status st = npy_read_matrix(o->text_features, &ds->text_features, &rows, &cols);

	if (st != TP_OK)
		return st;
	if (rows != ds->n_classes || cols != ds->dim)
		return tp_fail(TP_ERR_SHAPE,
			       "%s: text features '%s' have shape (%d, %d), expected (%d, %d): one row per class name in '%s', of the dimension of '%s'",
			       operation, o->text_features, rows, cols, ds->n_classes, ds->dim, o->classes, o->features);
	snprintf(row_label, sizeof row_label, "'%s' row", o->text_features);
	return dataset_normalise_rows(ds->text_features, rows, cols, operation, row_label);
}

/* Fills ds from the checked options; the caller frees ds on failure. */
static tp_status features_build(const features_options *o, dataset *ds)
{
	const char *operation = "load features";
	features_part all = { 0 }, test = { 0 };
	int *train_rows = NULL; /* (n_train) source row of each training sample */
	int n_train = 0;
	float *x_train = NULL;  /* (n_train, dim) */
	int *y_train = NULL;    /* (n_train) */
	gsl_rng *rng = NULL;
	char encoder[512];
	tp_status st;

	st = dataset_read_class_names(o->classes, &ds->class_names, &ds->n_classes);
	if (st != TP_OK)
		return st;
	if (ds->n_classes < 2) {
		st = tp_fail(TP_ERR_VALUE, "%s: '%s' names %d class: a classifier needs at least two",
			     operation, o->classes, ds->n_classes);
		goto done;
	}
	st = features_read_part(o->features, o->labels, ds->n_classes, o->classes, &all);
	if (st != TP_OK)
		goto done;
	ds->dim = all.dim;
	rng = dataset_rng_alloc(o->seed);
	train_rows = malloc((size_t)all.n * sizeof *train_rows);
	if (!rng || !train_rows) {
		st = tp_fail(TP_ERR_NOMEM, "%s: no memory for %d sample indices", operation, all.n);
		goto done;
	}

	/* the test set is a second file, or a seeded random share of the first */
	if (o->test_features) {
		st = features_read_part(o->test_features, o->test_labels, ds->n_classes, o->classes, &test);
		if (st == TP_OK && test.dim != all.dim)
			st = tp_fail(TP_ERR_SHAPE, "%s: test features '%s' have dimension %d but '%s' has %d: encode both with the same model",
				     operation, o->test_features, test.dim, o->features, all.dim);
		if (st != TP_OK)
			goto done;
		ds->x_test = test.x;
		ds->y_test = test.y;
		ds->n_test = test.n;
		test.x = NULL;
		test.y = NULL;
		for (int i = 0; i < all.n; i++)
			train_rows[i] = i;
		n_train = all.n;
	} else {
		st = features_split(o, &all, rng, ds, train_rows, &n_train);
		if (st != TP_OK)
			goto done;
	}

	if (o->text_features) {
		st = features_read_text(o, ds);
		if (st != TP_OK)
			goto done;
	}

	/* the training set, sampled per class when shots > 0 */
	x_train = malloc((size_t)n_train * (size_t)all.dim * sizeof *x_train);
	y_train = malloc((size_t)n_train * sizeof *y_train);
	if (!x_train || !y_train) {
		st = tp_fail(TP_ERR_NOMEM, "%s: no memory for %d training samples", operation, n_train);
		goto done;
	}
	for (int i = 0; i < n_train; i++) {
		memcpy(x_train + (size_t)i * (size_t)all.dim, all.x + (size_t)train_rows[i] * (size_t)all.dim,
		       (size_t)all.dim * sizeof *x_train);
		y_train[i] = all.y[train_rows[i]];
	}
	st = dataset_set_train(ds, x_train, y_train, train_rows, n_train, o->shots, rng, operation);
	if (st != TP_OK)
		goto done;

	snprintf(encoder, sizeof encoder, "precomputed features from '%s', %d dims", o->features, all.dim);
	ds->name = dataset_strdup(o->features);
	ds->encoder = dataset_strdup(encoder);
	if (!ds->name || !ds->encoder)
		st = tp_fail(TP_ERR_NOMEM, "%s: no memory for the dataset name", operation);

done:
	free(all.x);
	free(all.y);
	free(test.x);
	free(test.y);
	free(train_rows);
	free(x_train);
	free(y_train);
	if (rng)
		gsl_rng_free(rng);
	return st;
}

/* Fails on the first input file that cannot be opened, in the order the
 * user names them (features first), before any is parsed. */
static tp_status features_check_files(const features_options *o)
{
	const char *paths[] = { o->features, o->labels, o->classes, o->test_features, o->test_labels,
				o->text_features };
	const char *roles[] = { "features", "labels", "class names", "test features", "test labels",
				"text features" };

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		FILE *f;

		if (!paths[i])
			continue;
		f = fopen(paths[i], "rb");
		if (!f)
			return tp_fail(TP_ERR_IO, "load features: cannot open the %s file '%s': %s: check the path",
				       roles[i], paths[i], strerror(errno));
		fclose(f);
	}
	return TP_OK;
}

tp_status dataset_load_features(const features_options *o, dataset **out)
{
	dataset *ds;
	tp_status st = features_check_options(o);

	if (st == TP_OK)
		st = features_check_files(o);
	if (st != TP_OK)
		return st;
	ds = calloc(1, sizeof *ds);
	if (!ds)
		return tp_fail(TP_ERR_NOMEM, "load features: no memory for the dataset");
	st = features_build(o, ds);
	if (st != TP_OK) {
		dataset_free(ds);
		return st;
	}
	*out = ds;
	return TP_OK;
}

tp_status dataset_subset(const dataset *d, const int *rows, int m, dataset **out)
{
	dataset *sub = calloc(1, sizeof *sub);
	size_t row_bytes = (size_t)d->dim * sizeof(float);
	size_t name_size = strlen(d->name) + 48;
	tp_status st = TP_OK;

	*out = NULL;
	if (!sub)
		return tp_fail(TP_ERR_NOMEM, "subset: out of memory");
	sub->n_classes = d->n_classes;
	sub->dim = d->dim;
	sub->n_train = m;
	sub->n_test = d->n_test;
	sub->name = malloc(name_size);
	sub->encoder = dataset_strdup(d->encoder);
	sub->class_names = calloc((size_t)d->n_classes, sizeof *sub->class_names);
	sub->x_train = malloc((size_t)m * row_bytes);
	sub->y_train = malloc((size_t)m * sizeof *sub->y_train);
	sub->train_index = malloc((size_t)m * sizeof *sub->train_index);
	sub->x_test = malloc((size_t)d->n_test * row_bytes + 1);
	sub->y_test = malloc((size_t)d->n_test * sizeof *sub->y_test + 1);
	if (d->text_features)
		sub->text_features = malloc((size_t)d->n_classes * row_bytes);
	if (!sub->name || !sub->encoder || !sub->class_names || !sub->x_train || !sub->y_train ||
	    !sub->train_index || !sub->x_test || !sub->y_test || (d->text_features && !sub->text_features)) {
		st = tp_fail(TP_ERR_NOMEM, "subset: out of memory for %d samples", m);
		goto fail;
	}
	for (int c = 0; c < d->n_classes; c++) {
		sub->class_names[c] = dataset_strdup(d->class_names[c]);
		if (!sub->class_names[c]) {
			st = tp_fail(TP_ERR_NOMEM, "subset: out of memory");
			goto fail;
		}
	}
	snprintf(sub->name, name_size, "%s (%d-sample subset)", d->name, m);
	for (int i = 0; i < m; i++) {
		if (rows[i] < 0 || rows[i] >= d->n_train) {
			st = tp_fail(TP_ERR_VALUE, "subset: row %d is outside 0..%d", rows[i], d->n_train - 1);
			goto fail;
		}
		memcpy(sub->x_train + (size_t)i * d->dim, d->x_train + (size_t)rows[i] * d->dim, row_bytes);
		sub->y_train[i] = d->y_train[rows[i]];
		sub->train_index[i] = d->train_index[rows[i]];
	}
	memcpy(sub->x_test, d->x_test, (size_t)d->n_test * row_bytes);
	memcpy(sub->y_test, d->y_test, (size_t)d->n_test * sizeof *sub->y_test);
	if (d->text_features)
		memcpy(sub->text_features, d->text_features, (size_t)d->n_classes * row_bytes);
	*out = sub;
	return TP_OK;

fail:
	dataset_free(sub);
	return st;
}
