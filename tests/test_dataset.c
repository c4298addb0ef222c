#define _POSIX_C_SOURCE 200809L

#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <gsl/gsl_rng.h>

#include "dataset.h"
#include "idx.h"
#include "npy.h"
#include "pca.h"
#include "tap.h"

/* ---- fixtures: files in one temporary folder, removed at the end ---- */

static char tmp_dir[] = "/tmp/tp_test_dataset_XXXXXX";
static char tmp_paths[128][256];
static int tmp_count;
static char tmp_dirs[8][256];
static int tmp_dir_count;

static const char *tmp_path(const char *name)
{
	char *path;

	if (tmp_count == (int)(sizeof tmp_paths / sizeof tmp_paths[0])) {
		fprintf(stderr, "tmp_path: more than %d fixture files: enlarge tmp_paths\n", tmp_count);
		exit(1);
	}
	path = tmp_paths[tmp_count++];

	snprintf(path, sizeof tmp_paths[0], "%s/%s", tmp_dir, name);
	return path;
}

/* Creates a sub-folder of the temporary folder and returns its path. */
static const char *tmp_subdir(const char *name)
{
	char *path = tmp_dirs[tmp_dir_count++];

	snprintf(path, sizeof tmp_dirs[0], "%s/%s", tmp_dir, name);
	mkdir(path, 0700);
	return path;
}

static void tmp_cleanup(void)
{
	for (int i = 0; i < tmp_count; i++)
		remove(tmp_paths[i]);
	for (int i = tmp_dir_count - 1; i >= 0; i--)
		rmdir(tmp_dirs[i]);
	rmdir(tmp_dir);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

static void error_mentions(const char *text, const char *name)
{
	if (!ok(strstr(tp_last_error(), text) != NULL, "%s", name))
		diag("message '%s' lacks '%s'", tp_last_error(), text);
}

/* Checks that every row of x (n, d) has unit L2 norm. */
static void rows_have_unit_norm(const float *x, int n, int d, const char *name)
{
	double worst = 0.0;

	for (int i = 0; i < n; i++) {
		double sum = 0.0;

		for (int j = 0; j < d; j++)
			sum += (double)x[i * d + j] * x[i * d + j];
		if (fabs(sqrt(sum) - 1.0) > worst)
			worst = fabs(sqrt(sum) - 1.0);
	}
	is_near(worst, 0.0, 1e-5, name);
}

/* ---- PCA on data with a known covariance ---- */

#define PCA_D 4
#define PCA_REPEAT 50
#define PCA_N (6 * PCA_REPEAT)

/* An orthogonal 4 x 4 matrix: the Householder reflection I - 2 u u^T / u^T u
 * for u = (1, 2, -1, 3); its columns are the principal axes. */
static void pca_axes(double axes[PCA_D][PCA_D])
{
	const double u[PCA_D] = { 1, 2, -1, 3 };
	double uu = 1 + 4 + 1 + 9;

	for (int i = 0; i < PCA_D; i++)
		for (int j = 0; j < PCA_D; j++)
			axes[i][j] = (i == j) - 2.0 * u[i] * u[j] / uu;
}

/* Fills x (PCA_N, PCA_D) with the points mean +- s c axis_a for the axis
 * standard deviations s = 3, 2, 1 (a = 0, 1, 2), each PCA_REPEAT times, in
 * an order given by the permutation step.  With c^2 = (n - 1) / (2 REPEAT) the
 * sample covariance is exactly sum_a s_a^2 axis_a axis_a^T: eigenvalues 9, 4,
 * 1 and 0. */
static void pca_make_data(float *x, int step)
{
	static const double mean[PCA_D] = { 5.0, -2.0, 0.5, 1.0 };
	static const double sd[3] = { 3.0, 2.0, 1.0 };
	double axes[PCA_D][PCA_D];
	double c = sqrt((PCA_N - 1) / (2.0 * PCA_REPEAT));

	pca_axes(axes);
	for (int p = 0; p < PCA_N; p++) {
		int a = p % 6 / 2;
		double sign = p % 2 ? -1.0 : 1.0;
		int row = (int)((long)p * step % PCA_N);

		for (int j = 0; j < PCA_D; j++)
			x[row * PCA_D + j] = (float)(mean[j] + sign * sd[a] * c * axes[j][a]);
	}
}

static void test_pca_known_covariance(void)
{
	float x[PCA_N * PCA_D];   /* (PCA_N, PCA_D) */
	float y[PCA_N * 3];       /* (PCA_N, 3) whitened */
	double axes[PCA_D][PCA_D];
	const double expected[3] = { 9.0, 4.0, 1.0 };
	pca_model *pca = NULL;

	pca_make_data(x, 1);
	pca_axes(axes);
	if (!ok(pca_fit(x, PCA_N, PCA_D, 3, &pca) == TP_OK, "pca fit on known covariance succeeds")) {
		diag("%s", tp_last_error());
		return;
	}
	is_int(pca->in_dim, PCA_D, "pca input dimension");
	is_int(pca->out_dim, 3, "pca output dimension");
	for (int j = 0; j < 3; j++)
		is_near(pca->eigenvalues[j], expected[j], 1e-4, "pca eigenvalue");

	/* each component is its axis, scaled by 1/sqrt(eigenvalue), sign fixed */
	for (int j = 0; j < 3; j++) {
		const float *v = pca->components + j * PCA_D;
		double dot = 0.0, norm = 0.0;
		int argmax = 0;

		for (int i = 0; i < PCA_D; i++) {
			dot += v[i] * axes[i][j];
			norm += (double)v[i] * v[i];
			if (fabs(v[i]) > fabs(v[argmax]))
				argmax = i;
		}
		is_near(fabs(dot) / sqrt(norm), 1.0, 1e-5, "pca component is parallel to its axis");
		is_near(sqrt(norm), 1.0 / sqrt(expected[j]), 1e-4, "pca component norm is 1/sqrt(eigenvalue)");
		ok(v[argmax] > 0.0f, "pca component %d has a positive largest entry", j);
	}

	/* whitened training data: zero mean, unit sample variance, uncorrelated */
	pca_transform(pca, x, PCA_N, y);
	for (int a = 0; a < 3; a++) {
		for (int b = a; b < 3; b++) {
			double mean_a = 0.0, mean_b = 0.0, cov = 0.0;

			for (int i = 0; i < PCA_N; i++) {
				mean_a += y[i * 3 + a];
				mean_b += y[i * 3 + b];
			}
			mean_a /= PCA_N;
			mean_b /= PCA_N;
			for (int i = 0; i < PCA_N; i++)
				cov += (y[i * 3 + a] - mean_a) * (y[i * 3 + b] - mean_b);
			cov /= PCA_N - 1;
			if (a == b) {
				is_near(mean_a, 0.0, 1e-5, "whitened mean is zero");
				is_near(cov, 1.0, 1e-4, "whitened variance is one");
			} else {
				is_near(cov, 0.0, 1e-5, "whitened components are uncorrelated");
			}
		}
	}

	/* a point 3 units along axis 0 from the mean maps to +-1 on component 0 */
	{
		float point[PCA_D], out[3];
		static const double mean[PCA_D] = { 5.0, -2.0, 0.5, 1.0 };
		int argmax = 0;

		for (int i = 0; i < PCA_D; i++) {
			point[i] = (float)(mean[i] + 3.0 * axes[i][0]);
			if (fabs(axes[i][0]) > fabs(axes[argmax][0]))
				argmax = i;
		}
		pca_transform(pca, point, 1, out);
		is_near(out[0], axes[argmax][0] > 0 ? 1.0 : -1.0, 1e-4, "point on axis 0 whitens to its signed unit");
		is_near(out[1], 0.0, 1e-4, "point on axis 0 has no component 1");
		is_near(out[2], 0.0, 1e-4, "point on axis 0 has no component 2");
	}
	pca_free(pca);
}

static void test_pca_sign_determinism(void)
{
	float x1[PCA_N * PCA_D], x2[PCA_N * PCA_D];
	pca_model *a = NULL, *b = NULL;
	double worst = 0.0;

	/* the same points in another row order give the same encoder */
	pca_make_data(x1, 1);
	pca_make_data(x2, 7); /* 7 is coprime to PCA_N = 300 */
	if (pca_fit(x1, PCA_N, PCA_D, 3, &a) != TP_OK || pca_fit(x2, PCA_N, PCA_D, 3, &b) != TP_OK) {
		ok(0, "pca fits for the sign test succeed");
		diag("%s", tp_last_error());
		pca_free(a);
		pca_free(b);
		return;
	}
	for (int i = 0; i < 3 * PCA_D; i++)
		if (fabs(a->components[i] - b->components[i]) > worst)
			worst = fabs(a->components[i] - b->components[i]);
	is_near(worst, 0.0, 1e-5, "row order does not change components or their signs");
	pca_free(a);
	pca_free(b);
}

/* LAPACK returns each eigenvector with an arbitrary sign; over random data
 * sets, only the sign rule can make every largest entry positive. */
static void test_pca_sign_rule(void)
{
	float x[40 * 6]; /* (40, 6) */
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	int positive = 1, fitted = 1;

	for (unsigned long seed = 1; seed <= 20; seed++) {
		pca_model *pca = NULL;

		gsl_rng_set(rng, seed);
		for (int i = 0; i < 40 * 6; i++)
			x[i] = (float)(gsl_rng_uniform(rng) * (1 + i % 6));
		if (pca_fit(x, 40, 6, 6, &pca) != TP_OK) {
			fitted = 0;
			continue;
		}
		for (int j = 0; j < 6; j++) {
			const float *v = pca->components + j * 6;
			int argmax = 0;

			for (int i = 1; i < 6; i++)
				if (fabsf(v[i]) > fabsf(v[argmax]))
					argmax = i;
			positive &= v[argmax] > 0.0f;
		}
		pca_free(pca);
	}
	gsl_rng_free(rng);
	ok(fitted, "pca fits 20 random data sets");
	ok(positive, "every component of 20 random fits has a positive largest entry");
}

static void test_pca_errors(void)
{
	float x[PCA_N * PCA_D];
	float same[10 * 3];
	pca_model *pca = NULL;

	pca_make_data(x, 1);
	is_int(pca_fit(x, PCA_N, PCA_D, 0, &pca), TP_ERR_VALUE, "pca with k = 0 is rejected");
	is_int(pca_fit(x, PCA_N, PCA_D, PCA_D + 1, &pca), TP_ERR_VALUE, "pca with k > d is rejected");
	error_mentions("1..4", "message gives the valid k range");
	is_int(pca_fit(x, 1, PCA_D, 2, &pca), TP_ERR_VALUE, "pca with one sample is rejected");
	for (int i = 0; i < 30; i++)
		same[i] = (float)(i % 3);
	is_int(pca_fit(same, 10, 3, 2, &pca), TP_ERR_VALUE, "pca on identical rows is rejected");
	ok(pca == NULL, "no model on failure");

	/* k = d works; the zero-variance direction gets a bounded scale */
	if (ok(pca_fit(x, PCA_N, PCA_D, PCA_D, &pca) == TP_OK, "pca with k = d succeeds")) {
		is_near(pca->eigenvalues[3], 0.0, 1e-4, "fourth eigenvalue is zero");
		for (int i = 0; i < PCA_D; i++)
			ok(isfinite(pca->components[3 * PCA_D + i]), "zero-variance component entry %d is finite", i);
	}
	pca_free(pca);
}

/* ---- Fashion-MNIST from small fake IDX files ---- */

#define FAKE_TRAIN 50
#define FAKE_TEST 20
#define FAKE_PIXELS (28 * 28)

static void write_idx(const char *path, int gz, int ndim, const uint32_t *sizes, const uint8_t *data, size_t bytes)
{
	unsigned char head[16] = { 0, 0, 0x08, (unsigned char)ndim };

	for (int i = 0; i < ndim; i++) {
		head[4 + 4 * i] = (unsigned char)(sizes[i] >> 24);
		head[5 + 4 * i] = (unsigned char)(sizes[i] >> 16 & 0xff);
		head[6 + 4 * i] = (unsigned char)(sizes[i] >> 8 & 0xff);
		head[7 + 4 * i] = (unsigned char)(sizes[i] & 0xff);
	}
	if (gz) {
		gzFile f = gzopen(path, "wb");

		gzwrite(f, head, (unsigned)(4 + 4 * ndim));
		gzwrite(f, data, (unsigned)bytes);
		gzclose(f);
	} else {
		FILE *f = fopen(path, "wb");

		fwrite(head, 1, (size_t)(4 + 4 * ndim), f);
		fwrite(data, 1, bytes, f);
		fclose(f);
	}
}

/* Fake images and labels: seeded random pixels, label of image i = i % 10. */
typedef struct fake_fmnist {
	uint8_t train_pixels[FAKE_TRAIN * FAKE_PIXELS]; /* (FAKE_TRAIN, 28, 28) */
	uint8_t train_labels[FAKE_TRAIN];
	uint8_t test_pixels[FAKE_TEST * FAKE_PIXELS];   /* (FAKE_TEST, 28, 28) */
	uint8_t test_labels[FAKE_TEST];
} fake_fmnist;

static void fake_fill(fake_fmnist *f)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);

	gsl_rng_set(rng, 42);
	for (int i = 0; i < FAKE_TRAIN * FAKE_PIXELS; i++)
		f->train_pixels[i] = (uint8_t)gsl_rng_uniform_int(rng, 256);
	for (int i = 0; i < FAKE_TEST * FAKE_PIXELS; i++)
		f->test_pixels[i] = (uint8_t)gsl_rng_uniform_int(rng, 256);
	for (int i = 0; i < FAKE_TRAIN; i++)
		f->train_labels[i] = (uint8_t)(i % 10);
	for (int i = 0; i < FAKE_TEST; i++)
		f->test_labels[i] = (uint8_t)((i * 3) % 10);
	gsl_rng_free(rng);
}

/* Writes the four files into the sub-folder folder of the temporary folder.
 * n_train_labels may differ from FAKE_TRAIN to make a mismatched pair. */
static void fake_write(const char *folder, const fake_fmnist *f, int gz, int n_train_labels)
{
	const char *suffix = gz ? ".gz" : "";
	uint32_t train_size[3] = { FAKE_TRAIN, 28, 28 }, test_size[3] = { FAKE_TEST, 28, 28 };
	uint32_t train_count = (uint32_t)n_train_labels, test_count = FAKE_TEST;
	char name[128];

	snprintf(name, sizeof name, "%s/train-images-idx3-ubyte%s", folder, suffix);
	write_idx(tmp_path(name), gz, 3, train_size, f->train_pixels, sizeof f->train_pixels);
	snprintf(name, sizeof name, "%s/train-labels-idx1-ubyte%s", folder, suffix);
	write_idx(tmp_path(name), gz, 1, &train_count, f->train_labels, (size_t)n_train_labels);
	snprintf(name, sizeof name, "%s/t10k-images-idx3-ubyte%s", folder, suffix);
	write_idx(tmp_path(name), gz, 3, test_size, f->test_pixels, sizeof f->test_pixels);
	snprintf(name, sizeof name, "%s/t10k-labels-idx1-ubyte%s", folder, suffix);
	write_idx(tmp_path(name), gz, 1, &test_count, f->test_labels, FAKE_TEST);
}

/* Computes the expected features of the fake set: PCA fitted on the first
 * n_train training images scaled to [0, 1], applied to the first n images of
 * pixels, rows L2-normalised in double. */
static float *fake_expected(const fake_fmnist *f, int n_train, int dim, const uint8_t *pixels, int n)
{
	float *train = malloc((size_t)n_train * FAKE_PIXELS * sizeof *train);
	float *x = malloc((size_t)n * FAKE_PIXELS * sizeof *x);
	float *y = malloc((size_t)n * (size_t)dim * sizeof *y);
	pca_model *pca = NULL;

	for (int i = 0; i < n_train * FAKE_PIXELS; i++)
		train[i] = f->train_pixels[i] / 255.0f;
	for (int i = 0; i < n * FAKE_PIXELS; i++)
		x[i] = pixels[i] / 255.0f;
	if (pca_fit(train, n_train, FAKE_PIXELS, dim, &pca) != TP_OK) {
		free(train);
		free(x);
		free(y);
		return NULL;
	}
	pca_transform(pca, x, n, y);
	for (int i = 0; i < n; i++) {
		double sum = 0.0;

		for (int j = 0; j < dim; j++)
			sum += (double)y[i * dim + j] * y[i * dim + j];
		for (int j = 0; j < dim; j++)
			y[i * dim + j] = (float)(y[i * dim + j] / sqrt(sum));
	}
	pca_free(pca);
	free(train);
	free(x);
	return y;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
	double worst = 0.0;

	for (size_t i = 0; i < n; i++)
		if (fabs((double)a[i] - b[i]) > worst)
			worst = fabs((double)a[i] - b[i]);
	return worst;
}

static void test_fmnist_fake_good(const fake_fmnist *fake, const char *dir, const char *kind)
{
	fmnist_options o;
	dataset *ds = NULL;
	float *expected_train, *expected_test;
	int labels_match = 1;
	char encoder[128];

	fmnist_options_default(&o);
	o.dir = dir;
	o.dim = 8;
	if (!ok(dataset_load_fashion_mnist(&o, &ds) == TP_OK, "fake fashion-mnist (%s) loads", kind)) {
		diag("%s", tp_last_error());
		return;
	}
	is_int(ds->n_train, FAKE_TRAIN, "fake training count");
	is_int(ds->n_test, FAKE_TEST, "fake test count");
	is_int(ds->dim, 8, "fake feature dimension");
	is_int(ds->n_classes, 10, "fake class count");
	ok(strcmp(ds->class_names[0], "T-shirt/top") == 0 && strcmp(ds->class_names[9], "Ankle boot") == 0,
	   "fashion-mnist class names");
	ok(strcmp(ds->name, "fashion-mnist") == 0, "fashion-mnist dataset name");
	snprintf(encoder, sizeof encoder, "PCA-whitened pixels, 8 dims");
	ok(strncmp(ds->encoder, encoder, strlen(encoder)) == 0, "encoder names PCA and the dimension");
	ok(ds->text_features == NULL, "fashion-mnist has no text features");
	for (int i = 0; i < FAKE_TRAIN; i++)
		labels_match &= ds->y_train[i] == fake->train_labels[i] && ds->train_index[i] == i;
	for (int i = 0; i < FAKE_TEST; i++)
		labels_match &= ds->y_test[i] == fake->test_labels[i];
	ok(labels_match, "labels and train_index follow the files");
	rows_have_unit_norm(ds->x_train, ds->n_train, ds->dim, "fake training rows have unit norm");
	rows_have_unit_norm(ds->x_test, ds->n_test, ds->dim, "fake test rows have unit norm");

	/* the encoder is fitted on the training images only */
	expected_train = fake_expected(fake, FAKE_TRAIN, 8, fake->train_pixels, FAKE_TRAIN);
	expected_test = fake_expected(fake, FAKE_TRAIN, 8, fake->test_pixels, FAKE_TEST);
	ok(expected_train && expected_test, "reference encoder fits");
	if (expected_train && expected_test) {
		is_near(max_abs_diff(ds->x_train, expected_train, FAKE_TRAIN * 8), 0.0, 1e-5, "training features match PCA on training pixels");
		is_near(max_abs_diff(ds->x_test, expected_test, FAKE_TEST * 8), 0.0, 1e-5, "test features match the training-fitted PCA");
	}
	free(expected_train);
	free(expected_test);
	dataset_free(ds);
}

static void test_fmnist_fake_subsets(const fake_fmnist *fake, const char *dir)
{
	fmnist_options o;
	dataset *ds = NULL, *full = NULL;
	float *expected;
	int counts[10] = { 0 };
	int consistent = 1, ascending = 1;

	fmnist_options_default(&o);
	o.dir = dir;
	o.dim = 6;
	o.n_train = 30;
	o.n_test = 7;
	if (ok(dataset_load_fashion_mnist(&o, &ds) == TP_OK, "fake fashion-mnist with n_train and n_test loads")) {
		is_int(ds->n_train, 30, "n_train keeps the first 30 images");
		is_int(ds->n_test, 7, "n_test keeps the first 7 images");
		expected = fake_expected(fake, 30, 6, fake->train_pixels, 30);
		if (expected)
			is_near(max_abs_diff(ds->x_train, expected, 30 * 6), 0.0, 1e-5, "PCA is fitted on the first n_train images");
		free(expected);
	} else {
		diag("%s", tp_last_error());
	}
	dataset_free(ds);
	ds = NULL;

	/* few-shot: 3 of the 5 images of each class, from the same encoder */
	o.n_train = 0;
	o.n_test = 0;
	if (dataset_load_fashion_mnist(&o, &full) != TP_OK) {
		ok(0, "fake fashion-mnist without few-shot loads");
		diag("%s", tp_last_error());
		return;
	}
	o.shots = 3;
	o.seed = 11;
	if (!ok(dataset_load_fashion_mnist(&o, &ds) == TP_OK, "fake fashion-mnist with 3 shots loads")) {
		diag("%s", tp_last_error());
		dataset_free(full);
		return;
	}
	is_int(ds->n_train, 30, "3 shots of 10 classes");
	is_int(ds->n_test, FAKE_TEST, "few-shot keeps the whole test set");
	for (int i = 0; i < ds->n_train; i++) {
		int src = ds->train_index[i];

		counts[ds->y_train[i]]++;
		consistent &= src >= 0 && src < FAKE_TRAIN && ds->y_train[i] == fake->train_labels[src]
			      && memcmp(ds->x_train + i * 6, full->x_train + src * 6, 6 * sizeof(float)) == 0;
		if (i > 0)
			ascending &= ds->train_index[i] > ds->train_index[i - 1];
	}
	for (int c = 0; c < 10; c++)
		is_int(counts[c], 3, "few-shot count of a class");
	ok(consistent, "few-shot samples carry their source row's label and features");
	ok(ascending, "few-shot train_index is ascending without repeats");
	dataset_free(ds);
	dataset_free(full);

	o.shots = 6;
	is_int(dataset_load_fashion_mnist(&o, &ds), TP_ERR_VALUE, "6 shots from 5 images per class is rejected");
	error_mentions("class 0 'T-shirt/top' has 5 training samples", "message names the short class");
}

static void test_fmnist_fake_errors(const fake_fmnist *fake, const char *dir)
{
	fake_fmnist bad_labels = *fake;
	fmnist_options o;
	dataset *ds = NULL;
	const char *mismatch = tmp_subdir("fmnist_mismatch");
	const char *label_range = tmp_subdir("fmnist_label_range");

	fmnist_options_default(&o);
	o.dir = dir;
	o.dim = 0;
	is_int(dataset_load_fashion_mnist(&o, &ds), TP_ERR_VALUE, "dim 0 is rejected");
	o.dim = 785;
	is_int(dataset_load_fashion_mnist(&o, &ds), TP_ERR_VALUE, "dim 785 is rejected");
	error_mentions("784", "message gives the pixel count");
	o.dim = 50;
	is_int(dataset_load_fashion_mnist(&o, &ds), TP_ERR_VALUE, "dim above n_train - 1 is rejected");
	o.dim = 8;
	o.n_train = 51;
	is_int(dataset_load_fashion_mnist(&o, &ds), TP_ERR_VALUE, "n_train above the file's count is rejected");
	error_mentions("n_train 51", "message names n_train");
	o.n_train = 0;

	fake_write("fmnist_mismatch", fake, 1, FAKE_TRAIN - 1);
	o.dir = mismatch;
	is_int(dataset_load_fashion_mnist(&o, &ds), TP_ERR_SHAPE, "image and label counts that differ are rejected");
	error_mentions("50 images", "message gives the image count");
	error_mentions("49 labels", "message gives the label count");

	bad_labels.train_labels[17] = 10;
	fake_write("fmnist_label_range", &bad_labels, 1, FAKE_TRAIN);
	o.dir = label_range;
	is_int(dataset_load_fashion_mnist(&o, &ds), TP_ERR_FORMAT, "label 10 is rejected");
	error_mentions("label 10 at index 17", "message names the label and its index");

	o.dir = tmp_path("no_such_folder");
	is_int(dataset_load_fashion_mnist(&o, &ds), TP_ERR_IO, "missing folder is an I/O error");
	error_mentions("dataset-fashion-mnist", "message names the Debian package");
	ok(ds == NULL, "no dataset on failure");
}

/* ---- user features ---- */

#define FEAT_N 50
#define FEAT_D 6
#define FEAT_C 5

/* Row i of the training features: (i + 1, 1, ...), so no two rows are parallel. */
static double feature_value(int i, int j)
{
	if (j == 0)
		return i + 1;
	if (j == 1)
		return 1.0;
	return (i * 7 + j * 3) % 11 - 5;
}

static int feature_label(int i)
{
	return (i * 3) % FEAT_C;
}

/* Writes n rows of feature_value, offset rows apart from the training rows. */
static void write_features(const char *path, int n, int d, int offset)
{
	float *x = malloc((size_t)n * (size_t)d * sizeof *x);

	for (int i = 0; i < n; i++)
		for (int j = 0; j < d; j++)
			x[i * d + j] = (float)feature_value(i + offset, j);
	npy_write_f32(path, x, n, d);
	free(x);
}

static void write_labels_text(const char *path, int n, int offset)
{
	FILE *f = fopen(path, "w");

	for (int i = 0; i < n; i++)
		fprintf(f, "%d\n", feature_label(i + offset));
	fclose(f);
}

/* Returns the training row whose normalised features equal x (FEAT_D), or -1. */
static int feature_row_of(const float *x)
{
	for (int i = 0; i < FEAT_N; i++) {
		double norm = 0.0, worst = 0.0;

		for (int j = 0; j < FEAT_D; j++)
			norm += feature_value(i, j) * feature_value(i, j);
		for (int j = 0; j < FEAT_D; j++)
			if (fabs(x[j] - feature_value(i, j) / sqrt(norm)) > worst)
				worst = fabs(x[j] - feature_value(i, j) / sqrt(norm));
		if (worst < 1e-6)
			return i;
	}
	return -1;
}

typedef struct feature_files {
	const char *x, *y_text, *y_npy, *classes, *x_test, *y_test, *text;
} feature_files;

static void features_write_all(feature_files *f)
{
	int y[FEAT_N];
	float text[FEAT_C * FEAT_D]; /* (FEAT_C, FEAT_D) */

	f->x = tmp_path("x.npy");
	f->y_text = tmp_path("y.txt");
	f->y_npy = tmp_path("y.npy");
	f->classes = tmp_path("classes.txt");
	f->x_test = tmp_path("x_test.npy");
	f->y_test = tmp_path("y_test.txt");
	f->text = tmp_path("text.npy");
	write_features(f->x, FEAT_N, FEAT_D, 0);
	write_labels_text(f->y_text, FEAT_N, 0);
	for (int i = 0; i < FEAT_N; i++)
		y[i] = feature_label(i);
	npy_write_i32(f->y_npy, y, FEAT_N);
	/* surrounding whitespace and blank lines are ignored */
	write_text(f->classes, "cat\n  dog  \n\nbird\r\nfish\n\tfrog\n\n");
	write_features(f->x_test, 10, FEAT_D, 100);
	write_labels_text(f->y_test, 10, 100);
	for (int c = 0; c < FEAT_C; c++)
		for (int j = 0; j < FEAT_D; j++)
			text[c * FEAT_D + j] = (float)(c == j ? 2.0 : 0.0);
	npy_write_f32(f->text, text, FEAT_C, FEAT_D);
}

static void test_features_good(const feature_files *f)
{
	static const char *names[FEAT_C] = { "cat", "dog", "bird", "fish", "frog" };
	features_options o;
	dataset *ds = NULL;
	int rows_match = 1, names_match = 1, test_match = 1;

	features_options_default(&o);
	is_near(o.test_ratio, 0.2, 0.0, "default test ratio");
	o.features = f->x;
	o.labels = f->y_npy;
	o.classes = f->classes;
	o.test_features = f->x_test;
	o.test_labels = f->y_test;
	o.text_features = f->text;
	if (!ok(dataset_load_features(&o, &ds) == TP_OK, "features with test and text files load")) {
		diag("%s", tp_last_error());
		return;
	}
	is_int(ds->n_classes, FEAT_C, "class count from the names file");
	for (int c = 0; c < FEAT_C && c < ds->n_classes; c++)
		names_match &= strcmp(ds->class_names[c], names[c]) == 0;
	ok(names_match, "class names are trimmed and in order");
	is_int(ds->dim, FEAT_D, "feature dimension");
	is_int(ds->n_train, FEAT_N, "all rows are training rows with a test file");
	is_int(ds->n_test, 10, "test count");
	ok(strcmp(ds->name, f->x) == 0, "dataset name is the features path");
	for (int i = 0; i < ds->n_train; i++)
		rows_match &= feature_row_of(ds->x_train + i * FEAT_D) == i && ds->train_index[i] == i
			      && ds->y_train[i] == feature_label(i);
	ok(rows_match, "training rows are the normalised file rows with their labels");
	for (int i = 0; i < ds->n_test; i++) {
		double norm = 0.0;

		for (int j = 0; j < FEAT_D; j++)
			norm += feature_value(i + 100, j) * feature_value(i + 100, j);
		for (int j = 0; j < FEAT_D; j++)
			test_match &= fabs(ds->x_test[i * FEAT_D + j] - feature_value(i + 100, j) / sqrt(norm)) < 1e-6;
		test_match &= ds->y_test[i] == feature_label(i + 100);
	}
	ok(test_match, "test rows are the normalised test file rows with their labels");
	ok(ds->text_features != NULL, "text features are loaded");
	if (ds->text_features) {
		is_near(ds->text_features[0], 1.0, 1e-6, "text features are L2-normalised");
		is_near(ds->text_features[4 * FEAT_D + 4], 1.0, 1e-6, "last text feature row is normalised");
	}
	dataset_free(ds);
	ds = NULL;

	/* the same labels as text */
	o.labels = f->y_text;
	o.text_features = NULL;
	if (ok(dataset_load_features(&o, &ds) == TP_OK, "text labels load")) {
		int same = 1;

		for (int i = 0; i < FEAT_N; i++)
			same &= ds->y_train[i] == feature_label(i);
		ok(same, "text labels equal the npy labels");
		ok(ds->text_features == NULL, "no text features without a file");
	} else {
		diag("%s", tp_last_error());
	}
	dataset_free(ds);
}

static void test_features_split(const feature_files *f)
{
	static const struct { double ratio; int n_test; } cases[] = {
		{ 0.2, 10 }, { 0.3, 15 }, { 0.5, 25 }, { 0.02, 1 }, { 0.98, 49 },
	};
	features_options o;
	dataset *ds = NULL, *again = NULL, *other = NULL;

	features_options_default(&o);
	o.features = f->x;
	o.labels = f->y_text;
	o.classes = f->classes;
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		int seen[FEAT_N] = { 0 };
		int all_once = 1, labels_match = 1;

		o.test_ratio = cases[k].ratio;
		if (!ok(dataset_load_features(&o, &ds) == TP_OK, "ratio %g splits", cases[k].ratio)) {
			diag("%s", tp_last_error());
			continue;
		}
		is_int(ds->n_test, cases[k].n_test, "test count is round(N * ratio)");
		is_int(ds->n_train, FEAT_N - cases[k].n_test, "training count is the rest");
		for (int i = 0; i < ds->n_train; i++) {
			int row = feature_row_of(ds->x_train + i * FEAT_D);

			labels_match &= row == ds->train_index[i] && row >= 0 && ds->y_train[i] == feature_label(row);
			if (row >= 0)
				seen[row]++;
		}
		for (int i = 0; i < ds->n_test; i++) {
			int row = feature_row_of(ds->x_test + i * FEAT_D);

			labels_match &= row >= 0 && ds->y_test[i] == feature_label(row);
			if (row >= 0)
				seen[row]++;
		}
		for (int i = 0; i < FEAT_N; i++)
			all_once &= seen[i] == 1;
		ok(all_once, "every row is in exactly one of the two sets");
		ok(labels_match, "split rows keep their labels and source index");
		dataset_free(ds);
		ds = NULL;
	}

	/* the split depends on the seed only */
	o.test_ratio = 0.2;
	o.seed = 5;
	if (dataset_load_features(&o, &ds) == TP_OK && dataset_load_features(&o, &again) == TP_OK) {
		o.seed = 6;
		if (dataset_load_features(&o, &other) == TP_OK) {
			ok(memcmp(ds->train_index, again->train_index, (size_t)ds->n_train * sizeof(int)) == 0,
			   "same seed gives the same split");
			ok(memcmp(ds->train_index, other->train_index, (size_t)ds->n_train * sizeof(int)) != 0,
			   "another seed gives another split");
		}
	} else {
		ok(0, "seeded splits load");
		diag("%s", tp_last_error());
	}
	dataset_free(ds);
	dataset_free(again);
	dataset_free(other);
	ds = NULL;

	o.seed = 1;
	o.test_ratio = 0.005;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "ratio giving no test sample is rejected");
	error_mentions("0 test", "message gives the test count");
	o.test_ratio = 0.995;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "ratio giving no training sample is rejected");
	o.test_ratio = 1.0;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "ratio 1 is rejected");
	o.test_ratio = 0.0;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "ratio 0 is rejected");
	o.test_ratio = NAN;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "ratio NaN is rejected");
	ok(ds == NULL, "no dataset on failure");
}

static void test_features_few_shot(const feature_files *f)
{
	features_options o;
	dataset *ds = NULL;
	int counts[FEAT_C] = { 0 };
	int consistent = 1;

	features_options_default(&o);
	o.features = f->x;
	o.labels = f->y_text;
	o.classes = f->classes;
	o.test_features = f->x_test;
	o.test_labels = f->y_test;
	o.shots = 4;
	o.seed = 3;
	if (!ok(dataset_load_features(&o, &ds) == TP_OK, "4-shot features load")) {
		diag("%s", tp_last_error());
		return;
	}
	is_int(ds->n_train, 4 * FEAT_C, "4 shots of 5 classes");
	is_int(ds->n_test, 10, "few-shot keeps the test set");
	for (int i = 0; i < ds->n_train; i++) {
		counts[ds->y_train[i]]++;
		consistent &= feature_row_of(ds->x_train + i * FEAT_D) == ds->train_index[i]
			      && feature_label(ds->train_index[i]) == ds->y_train[i];
	}
	for (int c = 0; c < FEAT_C; c++)
		is_int(counts[c], 4, "few-shot samples of a class");
	ok(consistent, "few-shot rows match their source rows");
	dataset_free(ds);
	ds = NULL;

	/* 10 rows per class: 11 shots are too many */
	o.shots = 11;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "more shots than samples is rejected");
	error_mentions("class 0 'cat' has 10 training samples", "message names the class and its count");
	o.shots = -1;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "negative shots are rejected");
}

static void test_features_errors(const feature_files *f)
{
	features_options o, base;
	dataset *ds = NULL;
	const char *short_labels = tmp_path("y_short.txt");
	const char *range_labels = tmp_path("y_range.txt");
	const char *negative_labels = tmp_path("y_negative.txt");
	const char *word_labels = tmp_path("y_word.txt");
	const char *gap_labels = tmp_path("y_gap.txt");
	const char *three_classes = tmp_path("classes3.txt");
	const char *one_class = tmp_path("classes1.txt");
	const char *twice = tmp_path("classes_twice.txt");
	const char *narrow_test = tmp_path("x_test_narrow.npy");
	const char *zero_row = tmp_path("x_zero.npy");
	const char *nan_row = tmp_path("x_nan.npy");
	const char *text_rows = tmp_path("text_rows.npy");
	const char *text_cols = tmp_path("text_cols.npy");
	float x[FEAT_N * FEAT_D];
	char name[64];

	features_options_default(&base);
	base.features = f->x;
	base.labels = f->y_text;
	base.classes = f->classes;

	/* label count */
	write_labels_text(short_labels, FEAT_N - 1, 0);
	o = base;
	o.labels = short_labels;
	is_int(dataset_load_features(&o, &ds), TP_ERR_SHAPE, "49 labels for 50 rows are rejected");
	snprintf(name, sizeof name, "has %d rows but", FEAT_N);
	error_mentions(name, "message gives the row count");
	error_mentions("has 49 labels: give one label per feature row", "message gives the label count and the fix");

	/* label range */
	{
		FILE *out = fopen(range_labels, "w");

		for (int i = 0; i < FEAT_N; i++)
			fprintf(out, "%d\n", i == 12 ? 7 : feature_label(i));
		fclose(out);
		out = fopen(negative_labels, "w");
		for (int i = 0; i < FEAT_N; i++)
			fprintf(out, "%d\n", i == 3 ? -1 : feature_label(i));
		fclose(out);
	}
	o = base;
	o.labels = range_labels;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "label 7 with 5 classes is rejected");
	error_mentions("label 7 at index 12", "message names the label and its index");
	error_mentions("0..4", "message gives the valid range");
	error_mentions("5 classes", "message gives the class count");
	o.labels = negative_labels;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "label -1 is rejected");
	error_mentions("label -1 at index 3", "message names the negative label");

	/* class count against the labels: labels go up to 4 */
	write_text(three_classes, "a\nb\nc\n");
	o = base;
	o.classes = three_classes;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "labels beyond 3 class names are rejected");
	error_mentions("0..2", "message gives the range of 3 classes");
	write_text(one_class, "only\n");
	o.classes = one_class;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "one class name is rejected");
	write_text(twice, "a\nb\nc\nb\ne\n");
	o.classes = twice;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "a repeated class name is rejected");
	error_mentions("lines 2 and 4", "message gives both lines");

	/* text label syntax */
	write_text(word_labels, "0\n1\ncat\n");
	o = base;
	o.labels = word_labels;
	is_int(dataset_load_features(&o, &ds), TP_ERR_FORMAT, "a word label is rejected");
	error_mentions("line 3: 'cat' is not an integer", "message names the line and the text");
	write_text(gap_labels, "0\n1\n\n2\n");
	o.labels = gap_labels;
	is_int(dataset_load_features(&o, &ds), TP_ERR_FORMAT, "a blank line between labels is rejected");
	error_mentions("line 3 is blank", "message names the blank line");

	/* dimensions of test and text features */
	write_features(narrow_test, 10, FEAT_D - 1, 100);
	o = base;
	o.test_features = narrow_test;
	o.test_labels = f->y_test;
	is_int(dataset_load_features(&o, &ds), TP_ERR_SHAPE, "test features of another dimension are rejected");
	error_mentions("dimension 5", "message gives the test dimension");
	o = base;
	o.test_features = f->x_test;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "test features without labels are rejected");
	write_features(text_rows, FEAT_C + 1, FEAT_D, 0);
	write_features(text_cols, FEAT_C, FEAT_D + 2, 0);
	o = base;
	o.text_features = text_rows;
	is_int(dataset_load_features(&o, &ds), TP_ERR_SHAPE, "text features with 6 rows for 5 classes are rejected");
	error_mentions("(6, 6), expected (5, 6)", "message gives both text shapes");
	o.text_features = text_cols;
	is_int(dataset_load_features(&o, &ds), TP_ERR_SHAPE, "text features of another dimension are rejected");
	error_mentions("(5, 8), expected (5, 6)", "message gives the text dimension");

	/* feature values */
	for (int i = 0; i < FEAT_N; i++)
		for (int j = 0; j < FEAT_D; j++)
			x[i * FEAT_D + j] = i == 4 ? 0.0f : (float)feature_value(i, j);
	npy_write_f32(zero_row, x, FEAT_N, FEAT_D);
	o = base;
	o.features = zero_row;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "a zero row is rejected");
	error_mentions("row 4 has zero norm", "message names the zero row");
	x[4 * FEAT_D] = NAN;
	npy_write_f32(nan_row, x, FEAT_N, FEAT_D);
	o.features = nan_row;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "a NaN feature is rejected");
	error_mentions("row 4 column 0 is NaN", "message names the NaN");

	/* required options */
	o = base;
	o.features = NULL;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "missing features option is rejected");
	o = base;
	o.labels = NULL;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "missing labels option is rejected");
	o = base;
	o.classes = NULL;
	is_int(dataset_load_features(&o, &ds), TP_ERR_VALUE, "missing classes option is rejected");
	o = base;
	o.labels = tmp_path("absent.txt");
	is_int(dataset_load_features(&o, &ds), TP_ERR_IO, "missing labels file is an I/O error");
	error_mentions("absent.txt", "message names the missing file");
	ok(ds == NULL, "no dataset on failure");
}

/* ---- the real Fashion-MNIST, when installed ---- */

/* Returns the test accuracy of the nearest class mean by cosine similarity,
 * which is 0.1 for features that carry no class information.  It measured
 * 0.776 for 2000 training and 500 test images at dim 32. */
static double nearest_mean_accuracy(const dataset *ds)
{
	double *means = calloc((size_t)ds->n_classes * (size_t)ds->dim, sizeof *means); /* (n_classes, dim) */
	int correct = 0;

	for (int i = 0; i < ds->n_train; i++)
		for (int j = 0; j < ds->dim; j++)
			means[ds->y_train[i] * ds->dim + j] += ds->x_train[i * ds->dim + j];
	for (int i = 0; i < ds->n_test; i++) {
		int best = 0;
		double best_score = -2.0;

		for (int c = 0; c < ds->n_classes; c++) {
			double dot = 0.0, norm = 0.0;

			for (int j = 0; j < ds->dim; j++) {
				dot += means[c * ds->dim + j] * ds->x_test[i * ds->dim + j];
				norm += means[c * ds->dim + j] * means[c * ds->dim + j];
			}
			if (norm > 0.0 && dot / sqrt(norm) > best_score) {
				best_score = dot / sqrt(norm);
				best = c;
			}
		}
		correct += best == ds->y_test[i];
	}
	free(means);
	return (double)correct / ds->n_test;
}

static void test_fmnist_real(void)
{
	fmnist_options o;
	dataset *a = NULL, *b = NULL;
	char path[512];
	uint8_t *labels = NULL;
	int n_labels = 0, in_range = 1, labels_match = 1;
	struct stat st;

	if (stat(FMNIST_DEFAULT_DIR, &st) != 0) {
		diag("SKIP real Fashion-MNIST: %s is missing (Debian package dataset-fashion-mnist)", FMNIST_DEFAULT_DIR);
		return;
	}
	fmnist_options_default(&o);
	o.n_train = 2000;
	o.n_test = 500;
	o.dim = 32;
	if (!ok(dataset_load_fashion_mnist(&o, &a) == TP_OK, "real fashion-mnist loads")) {
		diag("%s", tp_last_error());
		return;
	}
	is_int(a->n_train, 2000, "real training count");
	is_int(a->n_test, 500, "real test count");
	is_int(a->dim, 32, "real feature dimension");
	rows_have_unit_norm(a->x_train, a->n_train, a->dim, "real training rows have unit norm");
	rows_have_unit_norm(a->x_test, a->n_test, a->dim, "real test rows have unit norm");
	for (int i = 0; i < a->n_train; i++)
		in_range &= a->y_train[i] >= 0 && a->y_train[i] < 10;
	for (int i = 0; i < a->n_test; i++)
		in_range &= a->y_test[i] >= 0 && a->y_test[i] < 10;
	ok(in_range, "real labels are in 0..9");

	snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", FMNIST_DEFAULT_DIR);
	if (idx_read_labels(path, &labels, &n_labels) == TP_OK) {
		for (int i = 0; i < a->n_train; i++)
			labels_match &= a->y_train[i] == labels[i];
		ok(labels_match, "real training labels are the first 2000 of the file");
		free(labels);
	} else {
		diag("SKIP label comparison: %s", tp_last_error());
	}

	ok(nearest_mean_accuracy(a) > 0.6, "real features separate the classes");

	if (ok(dataset_load_fashion_mnist(&o, &b) == TP_OK, "real fashion-mnist loads again")) {
		ok(memcmp(a->x_train, b->x_train, (size_t)a->n_train * 32 * sizeof(float)) == 0, "real training features are deterministic");
		ok(memcmp(a->x_test, b->x_test, (size_t)a->n_test * 32 * sizeof(float)) == 0, "real test features are deterministic");
	}
	dataset_free(a);
	dataset_free(b);
}

int main(void)
{
	static fake_fmnist fake;
	feature_files files;
	const char *gz_dir, *plain_dir;

	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}

	test_pca_known_covariance();
	test_pca_sign_determinism();
	test_pca_sign_rule();
	test_pca_errors();

	fake_fill(&fake);
	gz_dir = tmp_subdir("fmnist_gz");
	plain_dir = tmp_subdir("fmnist_plain");
	fake_write("fmnist_gz", &fake, 1, FAKE_TRAIN);
	fake_write("fmnist_plain", &fake, 0, FAKE_TRAIN);
	test_fmnist_fake_good(&fake, gz_dir, "gzip");
	test_fmnist_fake_good(&fake, plain_dir, "plain");
	test_fmnist_fake_subsets(&fake, gz_dir);
	test_fmnist_fake_errors(&fake, gz_dir);

	features_write_all(&files);
	test_features_good(&files);
	test_features_split(&files);
	test_features_few_shot(&files);
	test_features_errors(&files);

	test_fmnist_real();

	tmp_cleanup();
	return done_testing();
}
