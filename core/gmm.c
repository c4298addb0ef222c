#include "config.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sort.h>

#include "gmm.h"

/* Added to each component's responsibility sum in the M-step, so that a
 * component that lost all its samples still has a defined mean and weight. */
#define GMM_NK_FLOOR (10.0 * DBL_EPSILON)

/* log(2 pi), written out because M_PI is not part of ISO C. */
#define GMM_LOG_2PI 1.83787706640934548356

void gmm_defaults(gmm *g)
{
	memset(g, 0, sizeof *g);
	g->reg_covar = GMM_DEFAULT_REG_COVAR;
	g->tol = GMM_DEFAULT_TOL;
	g->max_iter = GMM_DEFAULT_MAX_ITER;
	g->loglik = NAN;
	g->prev_loglik = NAN;
}

void gmm_clear(gmm *g)
{
	double reg_covar = g->reg_covar;
	double tol = g->tol;
	int max_iter = g->max_iter;

	free(g->loss);
	free(g->x);
	gmm_defaults(g);
	g->reg_covar = reg_covar;
	g->tol = tol;
	g->max_iter = max_iter;
}

/* Rejects settings under which EM would produce NaN or never stop. */
static tp_status settings_check(const gmm *g, const char *op)
{
	if (!(g->reg_covar > 0.0) || !isfinite(g->reg_covar))
		return tp_fail(TP_ERR_VALUE,
			       "%s: reg_covar is %g; set it to a positive finite variance floor (default %g)",
			       op, g->reg_covar, GMM_DEFAULT_REG_COVAR);
	if (!(g->tol >= 0.0))
		return tp_fail(TP_ERR_VALUE,
			       "%s: tol is %g; set it to a non-negative tolerance (default %g)",
			       op, g->tol, GMM_DEFAULT_TOL);
	if (g->max_iter < 0)
		return tp_fail(TP_ERR_VALUE,
			       "%s: max_iter is %d; set it to 0 or more (default %d)",
			       op, g->max_iter, GMM_DEFAULT_MAX_ITER);
	return TP_OK;
}

/* log N(x | mean, var) of a 1-D Gaussian. */
static double gaussian_log_density(double x, double mean, double var)
{
	double d = x - mean;

	return -0.5 * (GMM_LOG_2PI + log(var) + d * d / var);
}

/* Writes log(weight_k) + log N(x | mean_k, var_k) for both components into
 * a and returns their log-sum-exp, the log-likelihood of x. */
static double joint_log_density(const gmm *g, double x, double a[2])
{
	double m;

	for (int k = 0; k < 2; k++)
		a[k] = log(g->weight[k]) + gaussian_log_density(x, g->mean[k], g->var[k]);
	m = a[0] > a[1] ? a[0] : a[1];
	return m + log(exp(a[0] - m) + exp(a[1] - m));
}

static double mean_loglik(const gmm *g)
{
	double a[2];
	double sum = 0.0;

	for (int i = 0; i < g->n; i++)
		sum += joint_log_density(g, g->x[i], a);
	return sum / g->n;
}

/* Writes loss min-max scaled to [0, 1] into x and returns 1.  Returns 0, with
 * x all 0, when every loss is equal. */
static int normalise(gmm *g)
{
	double lo = g->loss[0], hi = g->loss[0];
	double range;

	for (int i = 1; i < g->n; i++) {
		if (g->loss[i] < lo)
			lo = g->loss[i];
		if (g->loss[i] > hi)
			hi = g->loss[i];
	}
	g->loss_min = lo;
	g->loss_max = hi;
	if (hi == lo) {
		for (int i = 0; i < g->n; i++)
			g->x[i] = 0.0;
		return 0;
	}

	/* rounding is monotone, so loss - lo <= hi - lo and x stays in [0, 1].
	 * Halving first keeps a range wider than DBL_MAX finite. */
	range = hi - lo;
	if (isfinite(range)) {
		for (int i = 0; i < g->n; i++)
			g->x[i] = (g->loss[i] - lo) / range;
	} else {
		range = 0.5 * hi - 0.5 * lo;
		for (int i = 0; i < g->n; i++)
			g->x[i] = (0.5 * g->loss[i] - 0.5 * lo) / range;
	}
	return 1;
}

/* Mean and population variance of v (n >= 1), two passes. */
static void moments(const double *v, int n, double *mean, double *var)
{
	double sum = 0.0, ss = 0.0;

	for (int i = 0; i < n; i++)
		sum += v[i];
	*mean = sum / n;
	for (int i = 0; i < n; i++)
		ss += (v[i] - *mean) * (v[i] - *mean);
	*var = ss / n;
}

/* Returns the size k (1 <= k < n) of the lower cluster of the optimal 1-D
 * 2-means split of the sorted values s.  With c_i = s_i - mean(s) and C_k the
 * sum of the first k of them, a split at k leaves a within-cluster sum of
 * squares of sum c_i^2 - n C_k^2 / (k (n - k)).  So the best split maximises
 * C_k^2 / (k (n - k)), and ties go to the smallest k. */
static int split_find(const double *s, int n)
{
	double mean = 0.0, prefix = 0.0, best = -1.0;
	int best_k = 1;

	assert(n >= 2);
	for (int i = 0; i < n; i++)
		mean += s[i];
	mean /= n;
	for (int k = 1; k < n; k++) {
		double score;

		prefix += s[k - 1] - mean;
		score = prefix * prefix / ((double)k * (double)(n - k));
		if (score > best) {
			best = score;
			best_k = k;
		}
	}
	return best_k;
}

/* Sets the parameters from the optimal 2-means split of x. */
static tp_status params_init(gmm *g)
{
	double *sorted = malloc((size_t)g->n * sizeof *sorted); /* (n) */
	int k;

	if (!sorted)
		return tp_fail(TP_ERR_NOMEM, "gmm_init: cannot allocate %d doubles for sorting",
			       g->n);
	memcpy(sorted, g->x, (size_t)g->n * sizeof *sorted);
	gsl_sort(sorted, 1, (size_t)g->n);

	k = split_find(sorted, g->n);
	moments(sorted, k, &g->mean[0], &g->var[0]);
	moments(sorted + k, g->n - k, &g->mean[1], &g->var[1]);
	g->var[0] += g->reg_covar;
	g->var[1] += g->reg_covar;
	g->weight[0] = (double)k / g->n;
	g->weight[1] = (double)(g->n - k) / g->n;
	free(sorted);
	return TP_OK;
}

/* Sets the model of equal losses: one component holding every sample at 0
 * and an unused second one, so that loglik stays finite. */
static void params_degenerate(gmm *g)
{
	for (int k = 0; k < 2; k++) {
		g->mean[k] = 0.0;
		g->var[k] = g->reg_covar;
	}
	g->weight[0] = 1.0;
	g->weight[1] = 0.0;
}

/* On failure g is left as it was. */
tp_status gmm_init(gmm *g, const double *loss, int n)
{
	gmm next;
	tp_status st;

	if (n < 1)
		return tp_fail(TP_ERR_VALUE, "gmm_init: %d losses given; need at least 1", n);
	for (int i = 0; i < n; i++)
		if (!isfinite(loss[i]))
			return tp_fail(TP_ERR_VALUE,
				       "gmm_init: loss[%d] is %g; every loss must be finite, so drop or recompute that sample",
				       i, loss[i]);
	st = settings_check(g, "gmm_init");
	if (st != TP_OK)
		return st;

	/* build the new state apart from g, so that a failure keeps g intact */
	gmm_defaults(&next);
	next.reg_covar = g->reg_covar;
	next.tol = g->tol;
	next.max_iter = g->max_iter;
	next.n = n;
	next.loss = malloc((size_t)n * sizeof *next.loss);
	next.x = malloc((size_t)n * sizeof *next.x);
	if (!next.loss || !next.x) {
		free(next.loss);
		free(next.x);
		return tp_fail(TP_ERR_NOMEM, "gmm_init: cannot allocate 2 x %d doubles for the losses",
			       n);
	}
	memcpy(next.loss, loss, (size_t)n * sizeof *next.loss);

	if (normalise(&next)) {
		st = params_init(&next);
		if (st != TP_OK) {
			gmm_clear(&next);
			return st;
		}
	} else {
		/* nothing to split: stepping and fitting leave it as it is */
		tp_log(TP_LOG_INFO, "gmm: all %d losses equal %g: every sample is clean", n, loss[0]);
		next.degenerate = 1;
		next.converged = 1;
		params_degenerate(&next);
	}
	next.loglik = mean_loglik(&next);

	gmm_clear(g);
	*g = next;
	return TP_OK;
}

/* Responsibility of each component for x under the current parameters. */
static void responsibility(const gmm *g, double x, double r[2])
{
	double a[2];
	double ll = joint_log_density(g, x, a);

	r[0] = exp(a[0] - ll);
	r[1] = exp(a[1] - ll);
}

tp_status gmm_step(gmm *g)
{
	double rsum[2] = { 0.0, 0.0 }, rx[2] = { 0.0, 0.0 }, rss[2] = { 0.0, 0.0 };
	double nk[2], mean[2], var[2], r[2];
	tp_status st;

	if (!g->x)
		return tp_fail(TP_ERR_STATE, "gmm_step: no losses; run gmm_init first");
	st = settings_check(g, "gmm_step");
	if (st != TP_OK)
		return st;
	if (g->degenerate)
		return TP_OK;

	/* E-step and the weighted sums of the M-step */
	for (int i = 0; i < g->n; i++) {
		responsibility(g, g->x[i], r);
		for (int k = 0; k < 2; k++) {
			rsum[k] += r[k];
			rx[k] += r[k] * g->x[i];
		}
	}
	for (int k = 0; k < 2; k++) {
		nk[k] = rsum[k] + GMM_NK_FLOOR;
		/* when every responsibility underflowed to 0, no sample
		 * locates this component, so it keeps its mean */
		mean[k] = rsum[k] > 0.0 ? rx[k] / nk[k] : g->mean[k];
	}

	/* variances about the new means, the responsibilities recomputed
	 * under the old parameters instead of stored */
	for (int i = 0; i < g->n; i++) {
		responsibility(g, g->x[i], r);
		for (int k = 0; k < 2; k++) {
			double d = g->x[i] - mean[k];

			rss[k] += r[k] * d * d;
		}
	}
	/* NOTE: with reg_covar added the M-step no longer maximises the
	 * expected log-likelihood, so loglik can fall slightly between steps */
	for (int k = 0; k < 2; k++)
		var[k] = rss[k] / nk[k] + g->reg_covar;

	/* new parameters.  nk sums to n plus two floors, so the weights are
	 * divided by that sum rather than by n to sum to 1. */
	for (int k = 0; k < 2; k++) {
		g->mean[k] = mean[k];
		g->var[k] = var[k];
		g->weight[k] = nk[k] / (nk[0] + nk[1]);
	}

	g->prev_loglik = g->loglik;
	g->loglik = mean_loglik(g);
	g->iter++;
	g->converged = fabs(g->loglik - g->prev_loglik) < g->tol;
	return TP_OK;
}

tp_status gmm_fit(gmm *g)
{
	if (!g->x)
		return tp_fail(TP_ERR_STATE, "gmm_fit: no losses; run gmm_init first");
	while (!g->converged && g->iter < g->max_iter) {
		tp_status st = gmm_step(g);

		if (st != TP_OK)
			return st;
	}
	return TP_OK;
}

int gmm_clean_component(const gmm *g)
{
	return g->mean[1] < g->mean[0] ? 1 : 0;
}

void gmm_clean_prob(const gmm *g, double *p)
{
	int clean = gmm_clean_component(g);

	if (g->degenerate) {
		for (int i = 0; i < g->n; i++)
			p[i] = 1.0;
		return;
	}

	/* p = 1 / (1 + exp(d)) with d the log-odds of the noisy component,
	 * each branch passing exp a non-positive argument so it cannot overflow */
	for (int i = 0; i < g->n; i++) {
		double a[2], d;

		joint_log_density(g, g->x[i], a);
		d = a[1 - clean] - a[clean];
		if (d > 0.0) {
			double e = exp(-d);

			p[i] = e / (1.0 + e);
		} else {
			p[i] = 1.0 / (1.0 + exp(d));
		}
	}
}
