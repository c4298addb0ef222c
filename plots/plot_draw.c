#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meter.h"
#include "plot_draw.h"

#define HIST_BINS 40
#define DENSITY_POINTS 200

static void begin_titled(fig *f, const char *title, const plot_source *src)
{
	char buf[160];

	if (src->caption && src->caption[0])
		snprintf(buf, sizeof buf, "%s (%s)", title, src->caption);
	else
		snprintf(buf, sizeof buf, "%s", title);
	fig_begin(f, f->cr, f->width, f->height, buf);
}

static double percent(double v)
{
	return isfinite(v) ? 100.0 * v : NAN;
}

/* ---- accuracy per epoch ---- */

static void acc_series(fig *f, const epoch_report *h, int n, int s, fig_rgb colour, int dashed)
{
	double *x = malloc((size_t)n * sizeof *x);
	double *y = malloc((size_t)n * sizeof *y);

	if (!x || !y) {
		free(x);
		free(y);
		return;
	}
	for (int i = 0; i < n; i++) {
		x[i] = h[i].epoch;
		y[i] = percent(meter_acc_value(&h[i], s));
	}
	fig_polyline(f, x, y, n, colour, 1.2, dashed);
	if (!dashed)
		fig_markers(f, x, y, n, colour);
	free(x);
	free(y);
}

tp_status plot_draw_acc(fig *f, const plot_source *src)
{
	static const int series[] = { METER_ACC_A, METER_ACC_B, METER_ACC_ENSEMBLE, METER_ACC_TARGET };
	static const fig_role roles[] = { ROLE_HEAD_A, ROLE_HEAD_B, ROLE_ENSEMBLE, ROLE_TARGET };
	static const char *const labels[] = { "test, head A", "test, head B", "test, ensemble", "training targets" };
	int n, two;
	const epoch_report *h = train_history(src->run, &n);
	double lo, hi;
	fig_legend_item items[4];
	int n_items = 0;

	two = train_n_heads(src->run) == 2;
	meter_acc_range(h, n, &lo, &hi);
	begin_titled(f, "Accuracy per epoch", src);
	fig_axes(f, n > 1 ? h[0].epoch : 0.0, h[n - 1].epoch, 100.0 * lo, 100.0 * hi,
		 "epoch", "accuracy (%)", 1);
	for (int i = 0; i < 4; i++) {
		if (!two && (series[i] == METER_ACC_B || series[i] == METER_ACC_ENSEMBLE))
			continue;
		acc_series(f, h, n, series[i], fig_palette[roles[i]], series[i] == METER_ACC_TARGET);
		items[n_items].label = labels[i];
		items[n_items].colour = fig_palette[roles[i]];
		items[n_items].style = series[i] == METER_ACC_TARGET ? LEGEND_DASHED : LEGEND_LINE;
		n_items++;
	}
	fig_legend(f, items, n_items, 0);
	return TP_OK;
}

/* ---- loss histogram with the fitted GMM ---- */

static void hist_bars(fig *f, const meter_hist *h, const int *count, fig_rgb colour)
{
	cairo_t *cr = f->cr;
	double w = 1.0 / h->n_bins;

	cairo_save(cr);
	cairo_set_source_rgba(cr, colour.r, colour.g, colour.b, 0.55);
	for (int b = 0; b < h->n_bins; b++) {
		double x0 = fig_x(f, b * w), x1 = fig_x(f, (b + 1) * w);
		double y0 = fig_y(f, 0.0), y1 = fig_y(f, count[b]);

		if (count[b] > 0)
			cairo_rectangle(cr, x0, y1, x1 - x0, y0 - y1);
	}
	cairo_fill(cr);
	cairo_restore(cr);
}

static void hist_density(fig *f, const meter_hist *h, int k, fig_rgb colour)
{
	double x[DENSITY_POINTS], y[DENSITY_POINTS];

	for (int i = 0; i < DENSITY_POINTS; i++) {
		x[i] = (double)i / (DENSITY_POINTS - 1);
		y[i] = meter_hist_density(h, k, x[i]);
	}
	fig_polyline(f, x, y, DENSITY_POINTS, colour, 1.3, 0);
}

static void hist_threshold_line(fig *f, const meter_hist *h)
{
	double x[2] = { h->threshold, h->threshold };
	double y[2] = { f->ymin, f->ymax };

	fig_polyline(f, x, y, 2, (fig_rgb){ 0.0, 0.0, 0.0 }, 0.9, 1);
}

/* The y range: the tallest bar or density, with room for the legend. */
static double hist_top(const meter_hist *h)
{
	double top = 0.0;

	for (int b = 0; b < h->n_bins; b++) {
		top = h->clean[b] > top ? h->clean[b] : top;
		top = h->noisy[b] > top ? h->noisy[b] : top;
	}
	for (int i = 0; i < DENSITY_POINTS; i++)
		for (int k = 0; k < 2; k++) {
			double d = meter_hist_density(h, k, (double)i / (DENSITY_POINTS - 1));

			top = d > top ? d : top;
		}
	return top > 0.0 ? 1.25 * top : 1.0;
}

tp_status plot_draw_gmm(fig *f, const plot_source *src)
{
	gmm *g = train_gmm(src->run, src->head);
	meter_hist h;
	char title[64], threshold[64];
	fig_legend_item items[5];
	tp_status st;

	st = meter_hist_compute(g, src->given, src->data->y_train, src->tau, HIST_BINS, &h);
	if (st != TP_OK)
		return st;
	snprintf(title, sizeof title, "Loss histogram, head %c", 'A' + src->head);
	begin_titled(f, title, src);
	fig_axes(f, 0.0, 1.0, 0.0, hist_top(&h), "per-sample loss (min-max normalised)", "samples per bin", 0);
	hist_bars(f, &h, h.clean, fig_palette[ROLE_CLEAN]);
	hist_bars(f, &h, h.noisy, fig_palette[ROLE_NOISY]);
	hist_density(f, &h, 0, fig_palette[ROLE_CLEAN]);
	hist_density(f, &h, 1, fig_palette[ROLE_NOISY]);

	items[0] = (fig_legend_item){ "actually clean", fig_palette[ROLE_CLEAN], LEGEND_BOX };
	items[1] = (fig_legend_item){ "actually noisy", fig_palette[ROLE_NOISY], LEGEND_BOX };
	items[2] = (fig_legend_item){ "clean component", fig_palette[ROLE_CLEAN], LEGEND_LINE };
	items[3] = (fig_legend_item){ "noisy component", fig_palette[ROLE_NOISY], LEGEND_LINE };
	snprintf(threshold, sizeof threshold, "p(clean) = %.2f", src->tau);
	items[4] = (fig_legend_item){ threshold, { 0.0, 0.0, 0.0 }, LEGEND_DASHED };
	if (isfinite(h.threshold))
		hist_threshold_line(f, &h);
	fig_legend(f, items, isfinite(h.threshold) ? 5 : 4, 1);
	return TP_OK;
}

/* ---- split quality per epoch ---- */

static void split_series(fig *f, const epoch_report *h, int n, int k, int auroc)
{
	double *x = malloc((size_t)n * sizeof *x);
	double *y = malloc((size_t)n * sizeof *y);
	fig_rgb colour = fig_palette[k ? ROLE_HEAD_B : ROLE_HEAD_A];

	if (!x || !y) {
		free(x);
		free(y);
		return;
	}
	for (int i = 0; i < n; i++) {
		const split_report *s = &h[i].split[k];

		x[i] = h[i].epoch;
		y[i] = !s->valid ? NAN : percent(auroc ? s->quality.auroc_posterior : s->quality.f1);
	}
	fig_polyline(f, x, y, n, colour, 1.2, auroc);
	fig_markers(f, x, y, n, colour);
	free(x);
	free(y);
}

tp_status plot_draw_split(fig *f, const plot_source *src)
{
	static const char *const labels[2][2] = { { "F1, head A", "AUROC, head A" },
						   { "F1, head B", "AUROC, head B" } };
	int n, heads = train_n_heads(src->run);
	const epoch_report *h = train_history(src->run, &n);
	fig_legend_item items[4];
	double lo = 100.0;

	for (int i = 0; i < n; i++)
		for (int k = 0; k < heads; k++) {
			double f1 = percent(h[i].split[k].quality.f1);
			double au = percent(h[i].split[k].quality.auroc_posterior);

			lo = isfinite(f1) && f1 < lo ? f1 : lo;
			lo = isfinite(au) && au < lo ? au : lo;
		}
	lo = floor(lo / 10.0) * 10.0;
	lo = lo >= 100.0 ? 90.0 : lo;

	begin_titled(f, "Noise detection per epoch", src);
	fig_axes(f, n > 1 ? h[0].epoch : 0.0, h[n - 1].epoch, lo, 100.0, "epoch", "F1, AUROC (%)", 1);
	for (int k = 0; k < heads; k++) {
		fig_rgb colour = fig_palette[k ? ROLE_HEAD_B : ROLE_HEAD_A];

		split_series(f, h, n, k, 0);
		split_series(f, h, n, k, 1);
		items[2 * k] = (fig_legend_item){ labels[k][0], colour, LEGEND_LINE };
		items[2 * k + 1] = (fig_legend_item){ labels[k][1], colour, LEGEND_DASHED };
	}
	fig_legend(f, items, 2 * heads, 0);
	return TP_OK;
}

/* ---- matrices ---- */

/* Row labels "0 T-shirt/top" left of the cells, column numbers below. */
static void matrix_labels(fig *f, const dataset *d, double cell)
{
	cairo_t *cr = f->cr;

	cairo_set_source_rgb(cr, 0.0, 0.0, 0.0);
	for (int c = 0; c < d->n_classes; c++) {
		char buf[48];
		double yc = f->top + (c + 0.5) * cell;

		snprintf(buf, sizeof buf, "%d %.14s", c, d->class_names ? d->class_names[c] : "");
		fig_text(cr, f->left - 3.0, yc + 2.5, 7.0, ALIGN_RIGHT, 0.0, buf);
		snprintf(buf, sizeof buf, "%d", c);
		fig_text(cr, f->left + (c + 0.5) * cell, f->top + d->n_classes * cell + 9.0,
			 7.0, ALIGN_CENTRE, 0.0, buf);
	}
}

static void matrix_cell(fig *f, const meter_matrix *m, int t, int c, double cell, fig_rgb ink)
{
	cairo_t *cr = f->cr;
	double v = m->frac[t * m->n_classes + c];
	double x = f->left + c * cell, y = f->top + t * cell;
	char buf[16];

	/* white at 0, the full ink colour at 1 */
	cairo_set_source_rgb(cr, 1.0 - v * (1.0 - ink.r), 1.0 - v * (1.0 - ink.g), 1.0 - v * (1.0 - ink.b));
	cairo_rectangle(cr, x, y, cell, cell);
	cairo_fill(cr);
	if (m->count[t * m->n_classes + c] == 0)
		return;
	snprintf(buf, sizeof buf, "%.0f", 100.0 * v);
	if (v > 0.55)
		cairo_set_source_rgb(cr, 1.0, 1.0, 1.0);
	else
		cairo_set_source_rgb(cr, 0.0, 0.0, 0.0);
	fig_text(cr, x + cell / 2.0, y + cell / 2.0 + 2.2, cell > 16.0 ? 6.5 : 5.0, ALIGN_CENTRE, 0.0, buf);
}

static void matrix_draw(fig *f, const dataset *d, const meter_matrix *m, fig_rgb ink,
			const char *xlabel, const char *ylabel)
{
	int C = m->n_classes;
	double cell;
	char note[64];

	f->left = 76.0;
	f->right = f->width - 8.0;
	cell = (f->right - f->left) / C;
	if (f->top + C * cell > f->height - 40.0)
		cell = (f->height - 40.0 - f->top) / C;
	for (int t = 0; t < C; t++)
		for (int c = 0; c < C; c++)
			matrix_cell(f, m, t, c, cell, ink);
	cairo_set_source_rgb(f->cr, 0.0, 0.0, 0.0);
	cairo_set_line_width(f->cr, 0.6);
	cairo_rectangle(f->cr, f->left, f->top, C * cell, C * cell);
	cairo_stroke(f->cr);
	matrix_labels(f, d, cell);
	fig_text(f->cr, f->left + C * cell / 2.0, f->top + C * cell + 20.0, FIG_LABEL_PT, ALIGN_CENTRE, 0.0, xlabel);
	fig_text(f->cr, 10.0, f->top + C * cell / 2.0, FIG_LABEL_PT, ALIGN_CENTRE, -M_PI / 2.0, ylabel);
	snprintf(note, sizeof note, "cells: %% of the row; %.1f%% on the diagonal, n = %d",
		 100.0 * meter_matrix_diagonal(m), m->total);
	fig_text(f->cr, f->left + C * cell / 2.0, f->top + C * cell + 31.0, FIG_TICK_PT - 1.0, ALIGN_CENTRE, 0.0, note);
}

tp_status plot_draw_noise(fig *f, const plot_source *src)
{
	const dataset *d = src->data;
	meter_matrix m;
	tp_status st = meter_matrix_compute(d->y_train, src->given, d->n_train, d->n_classes, &m);

	if (st != TP_OK)
		return st;
	begin_titled(f, "Noise transition matrix", src);
	matrix_draw(f, d, &m, (fig_rgb){ 0.15, 0.15, 0.15 }, "given label", "true class");
	meter_matrix_free(&m);
	return TP_OK;
}

tp_status plot_draw_confusion(fig *f, const plot_source *src)
{
	const dataset *d = src->data;
	int *pred = malloc((size_t)d->n_test * sizeof *pred);
	meter_matrix m;
	char title[64];
	tp_status st;

	if (!pred)
		return tp_fail(TP_ERR_NOMEM, "plot confusion: out of memory for %d predictions", d->n_test);
	st = train_test_predictions(src->run, src->head, pred);
	if (st == TP_OK)
		st = meter_matrix_compute(d->y_test, pred, d->n_test, d->n_classes, &m);
	free(pred);
	if (st != TP_OK)
		return st;
	snprintf(title, sizeof title, "Test confusion, head %c", 'A' + src->head);
	begin_titled(f, title, src);
	matrix_draw(f, d, &m, fig_palette[src->head ? ROLE_HEAD_B : ROLE_HEAD_A], "predicted class", "true class");
	meter_matrix_free(&m);
	return TP_OK;
}

/* ---- clean rate per class ---- */

static void class_bar(fig *f, double value, int c, double offset, double thickness, fig_rgb colour)
{
	double y0, y1;

	if (!isfinite(value))
		return;
	y0 = fig_y(f, c + offset);
	y1 = fig_y(f, c + offset + thickness);
	fig_set_colour(f->cr, colour);
	cairo_rectangle(f->cr, fig_x(f, 0.0), y1, fig_x(f, 100.0 * value) - fig_x(f, 0.0), y0 - y1);
	cairo_fill(f->cr);
}

static void class_names(fig *f, const dataset *d)
{
	cairo_set_source_rgb(f->cr, 0.0, 0.0, 0.0);
	for (int c = 0; c < d->n_classes; c++) {
		char buf[48];

		snprintf(buf, sizeof buf, "%.14s", d->class_names ? d->class_names[c] : "");
		fig_text(f->cr, f->left - 3.0, fig_y(f, d->n_classes - c - 0.5) + 2.5, 7.0, ALIGN_RIGHT, 0.0, buf);
	}
}

/* Computes the clean probabilities of the selected head, or NULL when it
 * has no GMM yet. */
static double *classes_clean_prob(const plot_source *src)
{
	gmm *g;
	double *p;

	if (!src->run)
		return NULL;
	g = train_gmm(src->run, src->head);
	if (!g->x || g->n != src->data->n_train)
		return NULL;
	p = malloc((size_t)g->n * sizeof *p);
	if (p)
		gmm_clean_prob(g, p);
	return p;
}

tp_status plot_draw_classes(fig *f, const plot_source *src)
{
	const dataset *d = src->data;
	double *p = classes_clean_prob(src);
	int have_p = p != NULL;
	fig_rgb head_colour = fig_palette[src->head ? ROLE_HEAD_B : ROLE_HEAD_A];
	meter_classes m;
	fig_legend_item items[2];
	char pred_label[48];
	tp_status st;

	st = meter_classes_compute(src->given, d->y_train, p, d->n_train, d->n_classes, src->tau, &m);
	free(p);
	if (st != TP_OK)
		return st;
	begin_titled(f, "Clean rate per given label", src);
	items[0] = (fig_legend_item){ "actually clean", fig_palette[ROLE_CLEAN], LEGEND_BOX };
	snprintf(pred_label, sizeof pred_label, "predicted clean, head %c", 'A' + src->head);
	items[1] = (fig_legend_item){ pred_label, head_colour, LEGEND_BOX };
	f->left = 70.0;
	fig_legend_rows(f, items, have_p ? 2 : 1);

	/* y counts classes from the bottom; class c is drawn in row C - 1 - c
	 * so that the first class is at the top */
	f->y_ticks = 0;
	fig_axes(f, 0.0, 100.0, 0.0, d->n_classes, "samples with that given label (%)", "", 0);
	for (int c = 0; c < d->n_classes; c++) {
		int row = d->n_classes - 1 - c;

		class_bar(f, m.clean[c], row, 0.5, 0.35, fig_palette[ROLE_CLEAN]);
		class_bar(f, m.pred_clean[c], row, 0.15, 0.35, head_colour);
	}
	class_names(f, d);
	meter_classes_free(&m);
	return TP_OK;
}
