#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clamp.h"
#include "meter.h"
#include "noise.h"

static double gaussian_density(double x, double mean, double var)
{
	double d = x - mean;

	return exp(-0.5 * d * d / var) / sqrt(2.0 * M_PI * var);
}

double meter_hist_density(const meter_hist *h, int k, double x)
{
	if (h->degenerate || h->n_bins < 1)
		return 0.0;
	return h->n * h->weight[k] * gaussian_density(x, h->mean[k], h->var[k]) / h->n_bins;
}

double meter_hist_clean_prob(const meter_hist *h, double x)
{
	double a[2], m;

	if (h->degenerate)
		return 1.0;
	/* in logs, so that far tails do not give 0 / 0 */
	for (int k = 0; k < 2; k++) {
		double d = x - h->mean[k];

		a[k] = log(h->weight[k]) - 0.5 * (log(h->var[k]) + d * d / h->var[k]);
	}
	m = a[0] > a[1] ? a[0] : a[1];
	return exp(a[0] - m) / (exp(a[0] - m) + exp(a[1] - m));
}

/* The normalised loss between the two means where the clean probability
 * falls to tau, by bisection; NAN when it does not cross tau there. */
static double hist_threshold(const meter_hist *h, double tau)
{
	double lo = h->mean[0], hi = h->mean[1];

	if (h->degenerate || !(meter_hist_clean_prob(h, lo) >= tau) || !(meter_hist_clean_prob(h, hi) < tau))
		return NAN;
	for (int i = 0; i < 60; i++) {
		double mid = 0.5 * (lo + hi);

		if (meter_hist_clean_prob(h, mid) >= tau)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

static void hist_params(const gmm *g, meter_hist *h)
{
	int clean = gmm_clean_component(g);

	for (int k = 0; k < 2; k++) {
		int src = k == 0 ? clean : 1 - clean;

		h->mean[k] = g->mean[src];
		h->var[k] = g->var[src];
		h->weight[k] = g->weight[src];
	}
	h->degenerate = g->degenerate;
}

tp_status meter_hist_compute(const gmm *g, const int *given, const int *truth,
			     double tau, int n_bins, meter_hist *h)
{
	if (!g->x || g->n < 1)
		return tp_fail(TP_ERR_STATE, "histogram: the GMM holds no losses yet: run 'gmm init' or train an epoch");
	if (n_bins < 1 || n_bins > METER_HIST_MAX_BINS)
		return tp_fail(TP_ERR_VALUE, "histogram: %d bins: give 1 to %d", n_bins, METER_HIST_MAX_BINS);
	memset(h, 0, sizeof *h);
	h->n_bins = n_bins;
	h->n = g->n;

	/* bin each sample; x = 1 goes into the last bin */
	for (int i = 0; i < g->n; i++) {
		int b = (int)(g->x[i] * n_bins);

		b = clamp_int(b, 0, n_bins - 1);
		if (given[i] == truth[i])
			h->clean[b]++;
		else
			h->noisy[b]++;
	}
	for (int b = 0; b < n_bins; b++)
		if (h->clean[b] + h->noisy[b] > h->max_count)
			h->max_count = h->clean[b] + h->noisy[b];

	hist_params(g, h);
	h->threshold = hist_threshold(h, tau);
	return TP_OK;
}

double meter_acc_value(const epoch_report *r, int s)
{
	switch (s) {
	case METER_ACC_A: return r->test_acc[0];
	case METER_ACC_B: return r->test_acc[1];
	case METER_ACC_ENSEMBLE: return r->test_acc[2];
	case METER_ACC_TARGET: return r->target_acc;
	default: return NAN;
	}
}

void meter_acc_range(const epoch_report *h, int n, double *lo, double *hi)
{
	double min = INFINITY, max = -INFINITY;

	for (int i = 0; i < n; i++)
		for (int s = 0; s < METER_ACC_SERIES; s++) {
			double v = meter_acc_value(&h[i], s);

			if (isfinite(v)) {
				min = v < min ? v : min;
				max = v > max ? v : max;
			}
		}
	if (!isfinite(min)) {
		*lo = 0.0;
		*hi = 1.0;
		return;
	}
	*lo = floor(min * 10.0 + 1e-9) / 10.0;
	*hi = ceil(max * 10.0 - 1e-9) / 10.0;
	if (*hi <= *lo)
		*hi = *lo + 0.1;
	*lo = *lo < 0.0 ? 0.0 : *lo;
	*hi = *hi > 1.0 ? 1.0 : *hi;
	if (*hi <= *lo)
		*lo = *hi - 0.1;
}

/* The curve's value at fractional x, or NAN outside it or next to a gap. */
static double curve_at(const double *y, int n, double x)
{
	int i = (int)floor(x);
	double f = x - i;

	if (i < 0 || i >= n)
		return NAN;
	if (i == n - 1 || f < 1e-9)
		return y[i];
	return (1.0 - f) * y[i] + f * y[i + 1];
}

void meter_curve_cells(const double *y, int n, int span, double lo, double hi,
		       int width, int height, int *cell)
{
	if (span < n)
		span = n;
	for (int c = 0; c < width; c++) {
		double x = width > 1 ? (double)c * (span - 1) / (width - 1) : 0.0;
		double v = curve_at(y, n, x);
		int row;

		if (!isfinite(v) || hi <= lo) {
			cell[c] = -1;
			continue;
		}
		row = (int)lround((hi - v) / (hi - lo) * (height - 1));
		cell[c] = clamp_int(row, 0, height - 1);
	}
}

tp_status meter_matrix_compute(const int *truth, const int *label, int n, int n_classes,
			       meter_matrix *m)
{
	size_t cells = (size_t)n_classes * (size_t)n_classes;

	memset(m, 0, sizeof *m);
	m->count = calloc(cells, sizeof *m->count);
	m->frac = calloc(cells, sizeof *m->frac);
	if (!m->count || !m->frac) {
		meter_matrix_free(m);
		return tp_fail(TP_ERR_NOMEM, "matrix: out of memory for %d classes", n_classes);
	}
	m->n_classes = n_classes;
	m->total = n;
	noise_transition(truth, label, n, n_classes, m->count);
	for (int t = 0; t < n_classes; t++) {
		long row = 0;

		for (int c = 0; c < n_classes; c++)
			row += m->count[t * n_classes + c];
		for (int c = 0; c < n_classes && row > 0; c++)
			m->frac[t * n_classes + c] = (double)m->count[t * n_classes + c] / (double)row;
	}
	return TP_OK;
}

void meter_matrix_free(meter_matrix *m)
{
	free(m->count);
	free(m->frac);
	memset(m, 0, sizeof *m);
}

double meter_matrix_diagonal(const meter_matrix *m)
{
	long diag = 0;

	if (m->total == 0)
		return NAN;
	for (int c = 0; c < m->n_classes; c++)
		diag += m->count[c * m->n_classes + c];
	return (double)diag / (double)m->total;
}

tp_status meter_classes_compute(const int *given, const int *truth, const double *p_clean,
				int n, int n_classes, double tau, meter_classes *m)
{
	int *hits;

	memset(m, 0, sizeof *m);
	m->count = calloc((size_t)n_classes, sizeof *m->count);
	m->clean = calloc((size_t)n_classes, sizeof *m->clean);
	m->pred_clean = calloc((size_t)n_classes, sizeof *m->pred_clean);
	hits = calloc((size_t)n_classes, sizeof *hits);
	if (!m->count || !m->clean || !m->pred_clean || !hits) {
		free(hits);
		meter_classes_free(m);
		return tp_fail(TP_ERR_NOMEM, "class rates: out of memory for %d classes", n_classes);
	}
	m->n_classes = n_classes;

	for (int i = 0; i < n; i++) {
		m->count[given[i]]++;
		m->clean[given[i]] += given[i] == truth[i];
		if (p_clean)
			hits[given[i]] += p_clean[i] >= tau;
	}
	for (int c = 0; c < n_classes; c++) {
		m->clean[c] = m->count[c] ? m->clean[c] / m->count[c] : NAN;
		m->pred_clean[c] = m->count[c] && p_clean ? (double)hits[c] / m->count[c] : NAN;
	}
	free(hits);
	return TP_OK;
}

void meter_classes_free(meter_classes *m)
{
	free(m->count);
	free(m->clean);
	free(m->pred_clean);
	memset(m, 0, sizeof *m);
}

tp_status meter_split_compute(const gmm *g, const int *given, const int *truth,
			      double tau, split_quality *q)
{
	double *p;

	if (!g->x || g->n < 1)
		return tp_fail(TP_ERR_STATE, "split: the GMM holds no losses yet: run 'gmm init' or train an epoch");
	p = malloc((size_t)g->n * sizeof *p);
	if (!p)
		return tp_fail(TP_ERR_NOMEM, "split: out of memory for %d samples", g->n);
	gmm_clean_prob(g, p);
	/* no raw losses: the AUROC of the loss would cost a second sort */
	metrics_split_quality(p, NULL, given, truth, g->n, tau, q);
	free(p);
	return TP_OK;
}

int meter_level(double v, double lo, double hi, int levels)
{
	int level;

	if (isnan(v) || hi <= lo || levels < 1)
		return 0;
	level = (int)((v - lo) / (hi - lo) * levels);
	return clamp_int(level, 0, levels - 1);
}
