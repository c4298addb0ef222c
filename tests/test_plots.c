/* Meters and figures on a small twin run of synthetic data: the meters'
 * numbers against counts made here from the session, and every figure kind
 * in every format read back as a valid, non-blank file of the right size. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo.h>

#include "meter.h"
#include "noise.h"
#include "plot.h"
#include "synthetic.h"
#include "tap.h"
#include "train.h"

#define C 4
#define D 8
#define N_TRAIN 400
#define N_TEST 120

static float x_train[N_TRAIN * D], x_test[N_TEST * D];
static int y_train[N_TRAIN], y_test[N_TEST], y_given[N_TRAIN], index_map[N_TRAIN];
static char *class_names[C] = { "alpha", "beta", "gamma", "delta" };
static dataset data;
static char folder[] = "/tmp/tp_plots_XXXXXX";

static void make_data(void)
{
	synthetic_dataset(&data, C, D, 0.6, 11, x_train, y_train, index_map, N_TRAIN, x_test, y_test, N_TEST);
	data.class_names = class_names;
}

/* A run of method with a schedule of epochs, trained when train is 1. */
static trainer *make_run(train_method method, int epochs, int train)
{
	train_config cfg;
	trainer *t = NULL;

	train_config_defaults(&cfg);
	cfg.method = method;
	cfg.epochs = epochs;
	cfg.warmup_epochs = 1;
	cfg.batch_size = 32;
	if (train_create(&data, y_given, &cfg, &t) != TP_OK)
		return NULL;
	if (train && train_run(t, 0, NULL) != TP_OK) {
		train_free(t);
		return NULL;
	}
	return t;
}

/* ---- meters ---- */

static void test_hist(trainer *t)
{
	gmm *g = train_gmm(t, 0);
	meter_hist h;
	int sum = 0, clean = 0, noisy = 0, expected_clean = 0;
	double *p = malloc(N_TRAIN * sizeof *p);
	double mass = 0.0;
	int below_ok = 1, above_ok = 1;

	ok(meter_hist_compute(g, y_given, y_train, 0.5, 25, &h) == TP_OK, "histogram computes");
	for (int b = 0; b < h.n_bins; b++) {
		sum += h.clean[b] + h.noisy[b];
		clean += h.clean[b];
		noisy += h.noisy[b];
	}
	for (int i = 0; i < N_TRAIN; i++)
		expected_clean += y_given[i] == y_train[i];
	is_int(sum, N_TRAIN, "histogram bins add up to the training samples");
	is_int(clean, expected_clean, "clean bins count the samples with a right label");
	is_int(noisy, N_TRAIN - expected_clean, "noisy bins count the samples with a wrong label");

	/* the densities integrate to the sample count, in bar units */
	for (double x = -1.0; x < 2.0; x += 1e-4)
		mass += (meter_hist_density(&h, 0, x) + meter_hist_density(&h, 1, x)) * 1e-4 * h.n_bins;
	is_near(mass, N_TRAIN, 0.01 * N_TRAIN, "GMM densities integrate to the sample count");

	/* samples between the means fall on the side of the threshold that
	 * the core's clean probability gives them */
	gmm_clean_prob(g, p);
	ok(isfinite(h.threshold), "threshold found between the means");
	for (int i = 0; i < N_TRAIN; i++) {
		double x = g->x[i];

		if (x < h.mean[0] || x > h.mean[1] || fabs(x - h.threshold) < 1e-6)
			continue;
		if (x < h.threshold && p[i] < 0.5)
			below_ok = 0;
		if (x > h.threshold && p[i] >= 0.5)
			above_ok = 0;
	}
	ok(below_ok, "samples below the threshold have p_clean >= tau");
	ok(above_ok, "samples above the threshold have p_clean < tau");
	ok(meter_hist_compute(g, y_given, y_train, 0.5, 0, &h) == TP_ERR_VALUE, "histogram rejects 0 bins");
	free(p);
}

static void test_matrix(void)
{
	meter_matrix m;
	int diag = 0, row0 = 0, row0_to_1 = 0;
	double row_sum = 0.0;

	ok(meter_matrix_compute(y_train, y_given, N_TRAIN, C, &m) == TP_OK, "transition matrix computes");
	for (int i = 0; i < N_TRAIN; i++) {
		diag += y_train[i] == y_given[i];
		row0 += y_train[i] == 0;
		row0_to_1 += y_train[i] == 0 && y_given[i] == 1;
	}
	is_int(m.count[0 * C + 1], row0_to_1, "matrix counts true 0 given 1");
	is_near(m.frac[0 * C + 1], (double)row0_to_1 / row0, 1e-12, "matrix fraction of true 0 given 1");
	for (int c = 0; c < C; c++)
		row_sum += m.frac[2 * C + c];
	is_near(row_sum, 1.0, 1e-12, "matrix row fractions sum to 1");
	is_near(meter_matrix_diagonal(&m), (double)diag / N_TRAIN, 1e-12, "matrix diagonal is the clean fraction");
	meter_matrix_free(&m);
}

static void test_classes(void)
{
	double p[N_TRAIN];
	meter_classes m;
	int count = 0, right = 0, predicted = 0;

	for (int i = 0; i < N_TRAIN; i++)
		p[i] = (i % 3) / 2.0;   /* 0, 0.5, 1, ... */
	ok(meter_classes_compute(y_given, y_train, p, N_TRAIN, C, 0.5, &m) == TP_OK, "class rates compute");
	for (int i = 0; i < N_TRAIN; i++) {
		if (y_given[i] != 2)
			continue;
		count++;
		right += y_train[i] == 2;
		predicted += p[i] >= 0.5;
	}
	is_int(m.count[2], count, "class count of given label 2");
	is_near(m.clean[2], (double)right / count, 1e-12, "clean rate of given label 2");
	is_near(m.pred_clean[2], (double)predicted / count, 1e-12, "predicted clean rate of given label 2");
	meter_classes_free(&m);
	ok(meter_classes_compute(y_given, y_train, NULL, N_TRAIN, C, 0.5, &m) == TP_OK && isnan(m.pred_clean[0]),
	   "class rates without a split leave predicted NAN");
	meter_classes_free(&m);
}

static void test_curve(void)
{
	double y[3] = { 0.0, 1.0, NAN };
	int cell[5];

	meter_curve_cells(y, 2, 2, 0.0, 1.0, 3, 5, cell);
	ok(cell[0] == 4 && cell[1] == 2 && cell[2] == 0, "curve cells rise from bottom to top");
	meter_curve_cells(y, 2, 5, 0.0, 1.0, 5, 5, cell);
	ok(cell[0] == 4 && cell[1] == 0 && cell[2] == -1 && cell[4] == -1, "curve stops where the epochs end");
	meter_curve_cells(y, 3, 3, 0.0, 1.0, 3, 5, cell);
	is_int(cell[2], -1, "curve leaves a gap at NAN");
}

static void test_acc_range(void)
{
	epoch_report r[2];
	double lo, hi;

	memset(r, 0, sizeof r);
	r[0].test_acc[0] = 0.53; r[0].test_acc[1] = NAN; r[0].test_acc[2] = NAN; r[0].target_acc = 0.61;
	r[1].test_acc[0] = 0.78; r[1].test_acc[1] = NAN; r[1].test_acc[2] = NAN; r[1].target_acc = 0.70;
	meter_acc_range(r, 2, &lo, &hi);
	is_near(lo, 0.5, 1e-12, "accuracy range starts at 0.5");
	is_near(hi, 0.8, 1e-12, "accuracy range ends at 0.8");
	is_int(meter_level(0.99, 0.0, 1.0, 4), 3, "level of 0.99 in 4 levels");
	is_int(meter_level(NAN, 0.0, 1.0, 4), 0, "level of NAN");
}

/* ---- figures ---- */

static int near_colour(const unsigned char *px, int r, int g, int b)
{
	/* cairo stores ARGB32 as native-endian words: B, G, R, A on little-endian */
	unsigned word = *(const unsigned *)(const void *)px;
	int pr = (word >> 16) & 0xff, pg = (word >> 8) & 0xff, pb = word & 0xff;

	return abs(pr - r) < 12 && abs(pg - g) < 12 && abs(pb - b) < 12;
}

/* Reads a PNG back: checks its size, that it is not blank, and that the
 * colour (r, g, b) appears. */
static void check_png(const char *path, plot_kind kind, int r, int g, int b, const char *name)
{
	cairo_surface_t *s = cairo_image_surface_create_from_png(path);
	double w, h;
	int inked = 0, coloured = 0, width, height, stride;
	unsigned char *pixels;

	plot_size(kind, &w, &h);
	if (!ok(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS, "%s: PNG reads back", name)) {
		cairo_surface_destroy(s);
		return;
	}
	width = cairo_image_surface_get_width(s);
	height = cairo_image_surface_get_height(s);
	is_int(width, lround(w / 72.0 * PLOT_PNG_DPI), name);
	is_int(height, lround(h / 72.0 * PLOT_PNG_DPI), name);
	stride = cairo_image_surface_get_stride(s);
	pixels = cairo_image_surface_get_data(s);
	for (int y = 0; y < height; y++)
		for (int x = 0; x < width; x++) {
			unsigned char *px = pixels + (size_t)y * stride + 4 * x;

			inked += !near_colour(px, 255, 255, 255);
			coloured += near_colour(px, r, g, b);
		}
	ok(inked > width * height / 100, "%s: at least 1%% of the pixels are drawn (%d)", name, inked);
	ok(coloured > 50, "%s: the role colour appears (%d pixels)", name, coloured);
	cairo_surface_destroy(s);
}

static char *read_file(const char *path, long *size)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	*size = 0;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*size = ftell(f);
	rewind(f);
	buf = calloc((size_t)*size + 1, 1);
	if (buf && fread(buf, 1, (size_t)*size, f) != (size_t)*size) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void check_svg(const char *path, plot_kind kind, const char *name)
{
	long size;
	char *text = read_file(path, &size);
	char expected[96];
	double w, h;

	plot_size(kind, &w, &h);
	snprintf(expected, sizeof expected, "width=\"%gpt\" height=\"%gpt\"", w, h);
	ok(text && strncmp(text, "<?xml", 5) == 0 && strstr(text, "<svg"), "%s: SVG header", name);
	ok(text && strstr(text, expected), "%s: SVG size %s", name, expected);
	ok(text && strstr(text, "</svg>"), "%s: SVG complete", name);
	ok(size > 2000, "%s: SVG has content (%ld bytes)", name, size);
	free(text);
}

static void check_pdf(const char *path, plot_kind kind, const char *name)
{
	long size;
	char *text = read_file(path, &size);
	char expected[96];
	double w, h;

	plot_size(kind, &w, &h);
	snprintf(expected, sizeof expected, "/MediaBox [ 0 0 %g %g ]", w, h);
	ok(text && strncmp(text, "%PDF-", 5) == 0, "%s: PDF header", name);
	ok(text && memmem(text, (size_t)size, expected, strlen(expected)), "%s: PDF page %s", name, expected);
	ok(text && size > 6 && memmem(text + size - 6, 6, "%%EOF", 5), "%s: PDF complete", name);
	ok(size > 1000, "%s: PDF has content (%ld bytes)", name, size);
	free(text);
}

/* The colour of a heat-map cell holding fraction v of its row: white
 * blended towards ink, as the figures draw it. */
static void cell_colour(double v, const double ink[3], int rgb[3])
{
	for (int i = 0; i < 3; i++)
		rgb[i] = (int)lround(255.0 * (1.0 - v * (1.0 - ink[i])));
}

/* A colour each figure must show, computed from the session: the role
 * colours of the lines and bars, and for the matrices the colour of the
 * cell (0, 0) from counts made here. */
static void expected_colour(plot_kind kind, trainer *t, int rgb[3])
{
	static const double grey[3] = { 0.15, 0.15, 0.15 }, blue[3] = { 0.0, 0.447, 0.698 };
	static const int role[PLOT_KIND_COUNT][3] = {
		{ 0, 114, 178 }, { 0, 158, 115 }, { 230, 159, 0 }, { 0, 0, 0 }, { 0, 0, 0 }, { 0, 158, 115 }
	};
	int pred[N_TEST], hits = 0, row = 0;

	memcpy(rgb, role[kind], sizeof role[kind]);
	if (kind == PLOT_NOISE) {
		for (int i = 0; i < N_TRAIN; i++) {
			row += y_train[i] == 0;
			hits += y_train[i] == 0 && y_given[i] == 0;
		}
		cell_colour((double)hits / row, grey, rgb);
	} else if (kind == PLOT_CONFUSION && train_test_predictions(t, 0, pred) == TP_OK) {
		for (int i = 0; i < N_TEST; i++) {
			row += y_test[i] == 0;
			hits += y_test[i] == 0 && pred[i] == 0;
		}
		cell_colour((double)hits / row, blue, rgb);
	}
}

static void test_figures(trainer *t)
{
	static const char *const ext[3] = { "png", "svg", "pdf" };
	plot_source src = { &data, y_given, t, 0, 0.5, "twin, sym 0.40" };

	for (int k = 0; k < PLOT_KIND_COUNT; k++)
		for (int e = 0; e < 3; e++) {
			char path[256], name[64];
			int rgb[3];
			tp_status st;

			snprintf(path, sizeof path, "%s/%s.%s", folder, plot_kind_names[k], ext[e]);
			snprintf(name, sizeof name, "plot %s %s", plot_kind_names[k], ext[e]);
			st = plot_write((plot_kind)k, &src, path);
			if (!ok(st == TP_OK, "%s writes", name)) {
				diag("%s", tp_last_error());
				continue;
			}
			expected_colour((plot_kind)k, t, rgb);
			if (e == 0)
				check_png(path, (plot_kind)k, rgb[0], rgb[1], rgb[2], name);
			else if (e == 1)
				check_svg(path, (plot_kind)k, name);
			else
				check_pdf(path, (plot_kind)k, name);
		}
}

static void test_errors(trainer *twin, trainer *fresh, trainer *single)
{
	plot_source src = { &data, y_given, twin, 0, 0.5, NULL };
	char path[256];

	snprintf(path, sizeof path, "%s/acc.jpg", folder);
	is_int(plot_write(PLOT_ACC, &src, path), TP_ERR_VALUE, "plot rejects an unknown extension");
	ok(strstr(tp_last_error(), ".png, .svg or .pdf") != NULL, "extension error names the formats");
	/* a path under /dev/null, a file that can hold no folder */
	is_int(plot_write(PLOT_ACC, &src, "/dev/null/acc.png"), TP_ERR_IO, "plot reports an unwritable path");
	ok(strstr(tp_last_error(), "/dev/null/acc.png") != NULL, "path error names the path");

	snprintf(path, sizeof path, "%s/none.png", folder);
	src.run = fresh;
	is_int(plot_write(PLOT_ACC, &src, path), TP_ERR_STATE, "acc before any epoch is refused");
	ok(strstr(tp_last_error(), "train 1") != NULL, "no-epochs error says what to run");
	is_int(plot_write(PLOT_GMM, &src, path), TP_ERR_STATE, "gmm before any fit is refused");
	ok(access(path, F_OK) != 0, "a refused plot leaves no file");
	src.run = NULL;
	is_int(plot_write(PLOT_CONFUSION, &src, path), TP_ERR_STATE, "confusion without a run is refused");
	src.run = single;
	src.head = 1;
	is_int(plot_write(PLOT_GMM, &src, path), TP_ERR_STATE, "head B of a one-head run is refused");
}

/* The sweep figure's layout and file from hand-made results. */
static void test_sweep_figure(void)
{
	sweep_result r[6];
	plot_sweep_data d;
	char path[256];
	cairo_surface_t *png;

	memset(r, 0, sizeof r);
	for (int i = 0; i < 6; i++) {
		r[i].noise.kind = i < 4 ? NOISE_SYM : NOISE_PAIR;
		r[i].noise.rate = i < 4 ? (i % 2 ? 0.5 : 0.2) : 0.4;
		r[i].method = i % 3 == 0 ? METHOD_CE : METHOD_TWIN;
		r[i].selector = r[i].method == METHOD_TWIN ? 0 : -1;
		r[i].seed = (unsigned long)i;
		r[i].epochs = 5;
		r[i].accuracy = 0.5 + 0.05 * i;
	}
	r[5].epochs = 7;   /* another epoch count: left out */
	ok(plot_sweep_layout(r, 6, &d) == TP_OK, "sweep layout built");
	is_int(d.n_rows, 2, "sweep rows: ce and twin/gmm");
	is_int(d.n_kinds, 2, "sweep kinds: sym and pair");
	is_int(d.n_rates, 3, "sweep rates: 0.2, 0.4, 0.5");
	ok(d.rates[0] == 0.2 && d.rates[1] == 0.4 && d.rates[2] == 0.5, "sweep rates in increasing order");
	ok(plot_sweep_layout(r, 0, &d) == TP_ERR_STATE, "empty sweep rejected");
	snprintf(path, sizeof path, "%s/sweep.png", folder);
	ok(plot_sweep_write(r, 6, path) == TP_OK, "sweep figure written");
	png = cairo_image_surface_create_from_png(path);
	ok(cairo_surface_status(png) == CAIRO_STATUS_SUCCESS, "sweep figure reads back as PNG");
	is_int(cairo_image_surface_get_width(png), (long)(252.0 * PLOT_PNG_DPI / 72.0 + 0.5), "sweep figure one column wide");
	cairo_surface_destroy(png);
	remove(path);
}

int main(void)
{
	trainer *twin, *fresh, *single;
	int n_chosen;

	make_data();
	if (noise_apply(NOISE_SYM, 0.4, 3, y_train, N_TRAIN, C, y_given, &n_chosen) != TP_OK)
		return skip_all("noise_apply failed");
	if (!mkdtemp(folder))
		return skip_all("cannot create a temporary folder");
	twin = make_run(METHOD_TWIN, 3, 1);
	fresh = make_run(METHOD_TWIN, 3, 0);
	single = make_run(METHOD_CE, 1, 1);
	if (!twin || !fresh || !single) {
		diag("%s", tp_last_error());
		return skip_all("training the synthetic run failed");
	}

	test_hist(twin);
	test_matrix();
	test_classes();
	test_curve();
	test_acc_range();
	test_figures(twin);
	test_errors(twin, fresh, single);
	test_sweep_figure();

	train_free(twin);
	train_free(fresh);
	train_free(single);
	for (int k = 0; k < PLOT_KIND_COUNT; k++) {
		static const char *const ext[3] = { "png", "svg", "pdf" };

		for (int e = 0; e < 3; e++) {
			char path[256];

			snprintf(path, sizeof path, "%s/%s.%s", folder, plot_kind_names[k], ext[e]);
			unlink(path);
		}
	}
	rmdir(folder);
	return done_testing();
}
