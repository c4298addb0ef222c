/* The sweep figure: final test accuracy against noise rate, one line per
 * method (and selector), one line style per noise kind, with error bars of
 * one standard deviation over seeds. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "plot_draw.h"
#include "selector.h"

/* Okabe-Ito's eight colours, black last, for the rows of a sweep. */
static const fig_rgb row_colours[] = {
	{ 0.000, 0.447, 0.698 }, { 0.902, 0.624, 0.000 }, { 0.000, 0.620, 0.451 },
	{ 0.800, 0.475, 0.655 }, { 0.835, 0.369, 0.000 }, { 0.337, 0.706, 0.914 },
	{ 0.941, 0.894, 0.259 }, { 0.000, 0.000, 0.000 }
};
#define N_ROW_COLOURS 8

tp_status plot_sweep_layout(const sweep_result *results, int n, plot_sweep_data *out)
{
	memset(out, 0, sizeof *out);
	if (n == 0)
		return tp_fail(TP_ERR_STATE, "plot sweep: the runs file holds no runs: run 'sweep' first");
	out->epochs = results[0].epochs;
	for (int i = 0; i < n; i++) {
		const sweep_result *r = &results[i];
		int k, row;

		if (r->epochs != out->epochs)
			continue;
		for (k = 0; k < out->n_kinds && out->kinds[k] != r->noise.kind; k++)
			;
		if (k == out->n_kinds && k < SWEEP_MAX_ITEMS)
			out->kinds[out->n_kinds++] = r->noise.kind;
		for (row = 0; row < out->n_rows; row++)
			if (out->methods[row] == r->method && out->selectors[row] == r->selector)
				break;
		if (row == out->n_rows && row < SWEEP_MAX_ITEMS) {
			out->methods[row] = r->method;
			out->selectors[row] = r->selector;
			out->n_rows++;
		}
		for (k = 0; k < out->n_rates && fabs(out->rates[k] - r->noise.rate) > 1e-9; k++)
			;
		if (k == out->n_rates && k < SWEEP_MAX_ITEMS)
			out->rates[out->n_rates++] = r->noise.rate;
	}
	/* rates in increasing order, for the x axis */
	for (int i = 1; i < out->n_rates; i++)
		for (int j = i; j > 0 && out->rates[j - 1] > out->rates[j]; j--) {
			double t = out->rates[j];

			out->rates[j] = out->rates[j - 1];
			out->rates[j - 1] = t;
		}
	out->results = results;
	out->n_results = n;
	return TP_OK;
}

static void row_label(const plot_sweep_data *d, int row, int kind, char *buf, size_t size)
{
	const char *kind_name = d->n_kinds > 1 ? noise_kind_name(d->kinds[kind]) : NULL;

	if (d->selectors[row] < 0)
		snprintf(buf, size, "%s%s%s", train_method_name(d->methods[row]), kind_name ? ", " : "",
			 kind_name ? kind_name : "");
	else
		snprintf(buf, size, "%s/%s%s%s", train_method_name(d->methods[row]),
			 selector_name((selector_kind)d->selectors[row]), kind_name ? ", " : "",
			 kind_name ? kind_name : "");
}

static void error_bar(fig *f, double x, double mean, double std, fig_rgb colour)
{
	cairo_t *cr = f->cr;

	if (!isfinite(std) || !isfinite(mean))
		return;
	cairo_save(cr);
	fig_set_colour(cr, colour);
	cairo_set_line_width(cr, 0.6);
	cairo_move_to(cr, fig_x(f, x), fig_y(f, mean - std));
	cairo_line_to(cr, fig_x(f, x), fig_y(f, mean + std));
	cairo_stroke(cr);
	cairo_restore(cr);
}

static tp_status draw_sweep(fig *f, const void *data)
{
	const plot_sweep_data *d = data;
	fig_legend_item items[2 * SWEEP_MAX_ITEMS];
	char labels[2 * SWEEP_MAX_ITEMS][64];
	double lo = 100.0, hi = 0.0;
	int n_items = 0;
	char title[96];

	/* the y range covers every mean +- std */
	for (int row = 0; row < d->n_rows; row++)
		for (int k = 0; k < d->n_kinds; k++)
			for (int j = 0; j < d->n_rates; j++) {
				sweep_noise noise = { d->kinds[k], d->rates[j] };
				double am, as, fm, fs;

				if (!sweep_cell(d->results, d->n_results, d->methods[row], d->selectors[row], noise,
						d->epochs, &am, &as, &fm, &fs))
					continue;
				if (!isfinite(as))
					as = 0.0;
				lo = fmin(lo, 100.0 * (am - as));
				hi = fmax(hi, 100.0 * (am + as));
			}
	if (!(hi > lo)) {
		lo -= 1.0;
		hi += 1.0;
	}
	snprintf(title, sizeof title, "Final test accuracy against noise (%d epochs)", d->epochs);
	fig_begin(f, f->cr, f->width, f->height, title);
	for (int row = 0; row < d->n_rows && n_items < 2 * SWEEP_MAX_ITEMS; row++)
		for (int k = 0; k < d->n_kinds && n_items < 2 * SWEEP_MAX_ITEMS; k++) {
			row_label(d, row, k, labels[n_items], sizeof labels[n_items]);
			items[n_items].label = labels[n_items];
			items[n_items].colour = row_colours[row % N_ROW_COLOURS];
			items[n_items].style = k % 2 ? LEGEND_DASHED : LEGEND_LINE;
			n_items++;
		}
	fig_legend_rows(f, items, n_items);
	fig_axes(f, d->rates[0], d->n_rates > 1 ? d->rates[d->n_rates - 1] : d->rates[0] + 0.1,
		 lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo), "noise rate", "test accuracy (%)", 0);

	for (int row = 0; row < d->n_rows; row++)
		for (int k = 0; k < d->n_kinds; k++) {
			double x[SWEEP_MAX_ITEMS], y[SWEEP_MAX_ITEMS];
			fig_rgb colour = row_colours[row % N_ROW_COLOURS];
			int m = 0;

			for (int j = 0; j < d->n_rates; j++) {
				sweep_noise noise = { d->kinds[k], d->rates[j] };
				double am, as, fm, fs;
				int count = sweep_cell(d->results, d->n_results, d->methods[row], d->selectors[row],
						       noise, d->epochs, &am, &as, &fm, &fs);

				/* only the rates this kind was run at, so its line has no gaps */
				if (!count)
					continue;
				x[m] = d->rates[j];
				y[m] = 100.0 * am;
				error_bar(f, x[m], y[m], 100.0 * as, colour);
				m++;
			}
			fig_polyline(f, x, y, m, colour, 1.2, k % 2);
			fig_markers(f, x, y, m, colour);
		}
	return TP_OK;
}

tp_status plot_sweep_write(const sweep_result *results, int n, const char *path)
{
	plot_sweep_data d;
	tp_status st;

	if (plot_format_from_path(path) == PLOT_FORMAT_UNKNOWN)
		return tp_fail(TP_ERR_VALUE, "plot: '%s' has no known extension: end the name in .png, .svg or .pdf", path);
	st = plot_sweep_layout(results, n, &d);
	if (st != TP_OK)
		return st;
	/* one column wide; taller when the legend has many rows */
	return plot_file(path, "sweep", 252.0, 216.0 + 10.0 * ((d.n_rows * d.n_kinds + 1) / 2), draw_sweep, &d);
}
