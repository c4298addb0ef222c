/* Meters: the numbers behind every figure and dashboard panel.
 *
 * Each meter computes what a panel or a figure shows (histogram bins,
 * fitted densities, curve cells, matrix fractions, per-class rates) from the
 * core's state, apart from any drawing.  The cairo figures and the curses
 * dashboard therefore show the same numbers, and tests can check them
 * without either library. */
#ifndef TP_METER_H
#define TP_METER_H

#include "gmm.h"
#include "metrics.h"
#include "status.h"
#include "train.h"

#define METER_HIST_MAX_BINS 200

/* The histogram of one head's normalised per-sample losses, split by the
 * truth, with the GMM fitted on them. */
typedef struct meter_hist {
	int n_bins;                        /* equal-width bins over [0, 1] */
	int n;                             /* samples counted, clean + noisy */
	int clean[METER_HIST_MAX_BINS];    /* actually clean (given == true label) */
	int noisy[METER_HIST_MAX_BINS];    /* actually noisy */
	int max_count;                     /* largest clean[b] + noisy[b] */
	int degenerate;                    /* all losses equal: no densities */
	double mean[2], var[2], weight[2]; /* component 0 = clean (smaller mean) */
	double threshold;                  /* normalised loss where p_clean falls to tau; NAN if none */
} meter_hist;

/* Bins g's normalised losses (g->x, n samples) by the truth: sample i is
 * clean when given[i] == truth[i].  n_bins is 1..METER_HIST_MAX_BINS.  Fails
 * with TP_ERR_STATE when g contains no losses. */
tp_status meter_hist_compute(const gmm *g, const int *given, const int *truth,
			     double tau, int n_bins, meter_hist *h);

/* Expected samples per bin of component k (0 clean, 1 noisy) at the
 * normalised loss x: n * weight_k * N(x | mean_k, var_k) * bin width, so
 * that it overlays the bar heights.  0 when the model is degenerate. */
double meter_hist_density(const meter_hist *h, int k, double x);

/* The clean probability of the GMM with h's parameters at normalised loss x. */
double meter_hist_clean_prob(const meter_hist *h, double x);

/* Series of the accuracy curves, indexed as the columns of the figure. */
enum { METER_ACC_A, METER_ACC_B, METER_ACC_ENSEMBLE, METER_ACC_TARGET, METER_ACC_SERIES };

/* Value of series s (METER_ACC_*) in report r; NAN when absent. */
double meter_acc_value(const epoch_report *r, int s);

/* The smallest and largest finite accuracy over all series of n reports,
 * widened to multiples of 0.1 within [0, 1].  [0, 1] when nothing is finite. */
void meter_acc_range(const epoch_report *h, int n, double *lo, double *hi);

/* Maps a curve of n points (y[i] at x = i, NAN = gap) onto width columns of
 * height rows, row 0 at the top and y = hi there.  The columns span x from 0
 * to span - 1 (span >= n, for example the schedule length, so that the curve
 * grows to the right as epochs finish).  cell[c] is the row of column c,
 * interpolated linearly between neighbouring points, or -1 where the curve
 * has no point. */
void meter_curve_cells(const double *y, int n, int span, double lo, double hi,
		       int width, int height, int *cell);

/* A C x C matrix of counts, row = true class, column = given or predicted. */
typedef struct meter_matrix {
	int n_classes;
	int total;
	int *count;     /* (C, C) */
	double *frac;   /* (C, C) count divided by its row total; 0 in an empty row */
} meter_matrix;

/* Counts label[i] against truth[i] over n samples of C classes; the result
 * owns its arrays (meter_matrix_free). */
tp_status meter_matrix_compute(const int *truth, const int *label, int n, int n_classes,
			       meter_matrix *m);
void meter_matrix_free(meter_matrix *m);

/* Fraction of a matrix's samples on its diagonal. */
double meter_matrix_diagonal(const meter_matrix *m);

/* Clean rates per given label. */
typedef struct meter_classes {
	int n_classes;
	int *count;          /* (C) samples that carry given label c */
	double *clean;       /* (C) fraction of those whose label is right; NAN when none */
	double *pred_clean;  /* (C) fraction with p_clean >= tau; NAN when none or no p_clean */
} meter_classes;

/* p_clean (n) may be NULL before the first split. */
tp_status meter_classes_compute(const int *given, const int *truth, const double *p_clean,
				int n, int n_classes, double tau, meter_classes *m);
void meter_classes_free(meter_classes *m);

/* The split of g's samples at tau against the truth (metrics_split_quality
 * on g's clean probabilities); q->auroc_loss is left NAN. */
tp_status meter_split_compute(const gmm *g, const int *given, const int *truth,
			      double tau, split_quality *q);

/* Level 0..levels-1 of v within [lo, hi], clamped; 0 for NAN. */
int meter_level(double v, double lo, double hi, int levels);

#endif
