#include "config.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "gmm.h"
#include "tap.h"

/* Parameters of a two-component mixture, kept apart from the gmm struct so
 * that the reference EM below shares no code with core/gmm.c. */
typedef struct ref_params {
	double weight[2];
	double mean[2];
	double var[2];
} ref_params;

static double ref_density(double x, double mean, double var)
{
	return exp(-(x - mean) * (x - mean) / (2.0 * var)) / sqrt(2.0 * 3.14159265358979323846 * var);
}

static double ref_loglik(const ref_params *p, const double *x, int n)
{
	double sum = 0.0;

	for (int i = 0; i < n; i++)
		sum += log(p->weight[0] * ref_density(x[i], p->mean[0], p->var[0]) +
			   p->weight[1] * ref_density(x[i], p->mean[1], p->var[1]));
	return sum / n;
}

/* One EM iteration written the plain way: stored responsibilities from direct
 * densities, then each parameter in its own loop. */
static void ref_step(ref_params *p, const double *x, int n, double reg_covar)
{
	double *r0 = malloc((size_t)n * sizeof *r0); /* (n) */
	double *r1 = malloc((size_t)n * sizeof *r1); /* (n) */
	double n0 = 0.0, n1 = 0.0, m0 = 0.0, m1 = 0.0, v0 = 0.0, v1 = 0.0;
	double total;

	for (int i = 0; i < n; i++) {
		double a = p->weight[0] * ref_density(x[i], p->mean[0], p->var[0]);
		double b = p->weight[1] * ref_density(x[i], p->mean[1], p->var[1]);

		r0[i] = a / (a + b);
		r1[i] = b / (a + b);
	}
	for (int i = 0; i < n; i++) {
		n0 += r0[i];
		n1 += r1[i];
	}
	n0 += 10.0 * DBL_EPSILON;
	n1 += 10.0 * DBL_EPSILON;
	for (int i = 0; i < n; i++) {
		m0 += r0[i] * x[i];
		m1 += r1[i] * x[i];
	}
	m0 /= n0;
	m1 /= n1;
	for (int i = 0; i < n; i++) {
		v0 += r0[i] * (x[i] - m0) * (x[i] - m0);
		v1 += r1[i] * (x[i] - m1) * (x[i] - m1);
	}
	p->mean[0] = m0;
	p->mean[1] = m1;
	p->var[0] = v0 / n0 + reg_covar;
	p->var[1] = v1 / n1 + reg_covar;
	p->weight[0] = n0 / n;
	p->weight[1] = n1 / n;
	total = p->weight[0] + p->weight[1];
	p->weight[0] /= total;
	p->weight[1] /= total;
	free(r0);
	free(r1);
}

/* Fills loss (n) with round(frac n) draws of N(mu0, sd0^2) followed by the
 * rest from N(mu1, sd1^2). */
static void two_gaussians_make(double *loss, int n, unsigned long seed, double frac,
			       double mu0, double sd0, double mu1, double sd1)
{
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	int n0 = (int)lround(frac * n);

	gsl_rng_set(rng, seed);
	for (int i = 0; i < n; i++)
		loss[i] = i < n0 ? mu0 + gsl_ran_gaussian(rng, sd0) : mu1 + gsl_ran_gaussian(rng, sd1);
	gsl_rng_free(rng);
}

/* Writes the min-max normalised copy of loss into x. */
static void ref_normalise(const double *loss, int n, double *x, double *lo, double *hi)
{
	*lo = loss[0];
	*hi = loss[0];
	for (int i = 0; i < n; i++) {
		*lo = fmin(*lo, loss[i]);
		*hi = fmax(*hi, loss[i]);
	}
	for (int i = 0; i < n; i++)
		x[i] = (loss[i] - *lo) / (*hi - *lo);
}

static int double_compare(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	return (a > b) - (a < b);
}

/* Best split of x by trying every split point of the sorted values and
 * summing squared deviations directly: the parameters of its two clusters
 * and its within-cluster sum of squares. */
static double brute_split(const double *x, int n, double reg_covar, ref_params *p)
{
	double *s = malloc((size_t)n * sizeof *s); /* (n) */
	double best = INFINITY;

	memcpy(s, x, (size_t)n * sizeof *s);
	qsort(s, (size_t)n, sizeof *s, double_compare);
	for (int k = 1; k < n; k++) {
		double mean_lo = 0.0, mean_hi = 0.0, ss_lo = 0.0, ss_hi = 0.0;

		for (int i = 0; i < k; i++)
			mean_lo += s[i] / k;
		for (int i = k; i < n; i++)
			mean_hi += s[i] / (n - k);
		for (int i = 0; i < k; i++)
			ss_lo += (s[i] - mean_lo) * (s[i] - mean_lo);
		for (int i = k; i < n; i++)
			ss_hi += (s[i] - mean_hi) * (s[i] - mean_hi);
		if (ss_lo + ss_hi < best) {
			best = ss_lo + ss_hi;
			p->weight[0] = (double)k / n;
			p->weight[1] = (double)(n - k) / n;
			p->mean[0] = mean_lo;
			p->mean[1] = mean_hi;
			p->var[0] = ss_lo / k + reg_covar;
			p->var[1] = ss_hi / (n - k) + reg_covar;
		}
	}
	free(s);
	return best;
}

static void params_compare(const gmm *g, const ref_params *p, double tol, const char *when)
{
	char name[128];

	for (int k = 0; k < 2; k++) {
		snprintf(name, sizeof name, "%s: mean[%d]", when, k);
		is_near(g->mean[k], p->mean[k], tol, name);
		snprintf(name, sizeof name, "%s: var[%d]", when, k);
		is_near(g->var[k], p->var[k], tol, name);
		snprintf(name, sizeof name, "%s: weight[%d]", when, k);
		is_near(g->weight[k], p->weight[k], tol, name);
	}
}

static int all_finite(const double *v, int n)
{
	for (int i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return 0;
	return 1;
}

static int params_finite(const gmm *g)
{
	return all_finite(g->mean, 2) && all_finite(g->var, 2) && all_finite(g->weight, 2) &&
	       isfinite(g->loglik);
}

/* Steps gmm and the reference EM side by side on one data set. */
static void reference_compare(const char *label, unsigned long seed, double frac,
			      double mu0, double sd0, double mu1, double sd1)
{
	enum { N = 500 };
	double loss[N], x[N], lo, hi;
	ref_params ref;
	gmm g;
	char when[96];
	int same_x = 1;

	two_gaussians_make(loss, N, seed, frac, mu0, sd0, mu1, sd1);
	ref_normalise(loss, N, x, &lo, &hi);

	gmm_defaults(&g);
	snprintf(when, sizeof when, "reference %s: init", label);
	is_int(gmm_init(&g, loss, N), TP_OK, when);
	snprintf(when, sizeof when, "reference %s: loss_min", label);
	is_near(g.loss_min, lo, 0.0, when);
	snprintf(when, sizeof when, "reference %s: loss_max", label);
	is_near(g.loss_max, hi, 0.0, when);
	for (int i = 0; i < N; i++)
		if (fabs(g.x[i] - x[i]) > 1e-15)
			same_x = 0;
	ok(same_x, "reference %s: normalised losses", label);
	ok(isnan(g.prev_loglik), "reference %s: prev_loglik NaN after init", label);
	snprintf(when, sizeof when, "reference %s: iter 0 after init", label);
	is_int(g.iter, 0, when);

	/* the reference starts from gmm_init's parameters, which test_init_split
	 * checks against a brute-force split */
	for (int k = 0; k < 2; k++) {
		ref.weight[k] = g.weight[k];
		ref.mean[k] = g.mean[k];
		ref.var[k] = g.var[k];
	}
	snprintf(when, sizeof when, "reference %s: loglik after init", label);
	is_near(g.loglik, ref_loglik(&ref, x, N), 1e-12, when);

	for (int t = 1; t <= 6; t++) {
		double prev = g.loglik;

		snprintf(when, sizeof when, "reference %s step %d", label, t);
		is_int(gmm_step(&g), TP_OK, when);
		ref_step(&ref, x, N, g.reg_covar);
		params_compare(&g, &ref, 1e-9, when);
		snprintf(when, sizeof when, "reference %s step %d: loglik", label, t);
		is_near(g.loglik, ref_loglik(&ref, x, N), 1e-9, when);
		snprintf(when, sizeof when, "reference %s step %d: prev_loglik", label, t);
		is_near(g.prev_loglik, prev, 0.0, when);
		snprintf(when, sizeof when, "reference %s step %d: iter", label, t);
		is_int(g.iter, t, when);
		snprintf(when, sizeof when, "reference %s step %d: converged flag", label, t);
		is_int(g.converged, fabs(g.loglik - prev) < g.tol, when);
	}

	/* clean probability: the posterior of the lower-mean component */
	{
		double p[N];
		int clean = g.mean[0] <= g.mean[1] ? 0 : 1;
		double worst = 0.0;

		gmm_clean_prob(&g, p);
		for (int i = 0; i < N; i++) {
			double a = ref.weight[clean] * ref_density(x[i], ref.mean[clean], ref.var[clean]);
			double b = ref.weight[1 - clean] *
				   ref_density(x[i], ref.mean[1 - clean], ref.var[1 - clean]);

			worst = fmax(worst, fabs(p[i] - a / (a + b)));
		}
		snprintf(when, sizeof when, "reference %s: clean probability", label);
		is_near(worst, 0.0, 1e-9, when);
	}
	gmm_clear(&g);
}

static void test_against_reference(void)
{
	reference_compare("separated", 11, 0.7, 0.2, 0.05, 0.8, 0.1);
	/* overlapping components move further in each step */
	reference_compare("overlapping", 12, 0.6, 0.3, 0.1, 0.5, 0.15);
}

static void test_recovery(void)
{
	enum { N = 4000 };
	double loss[N], x[N], lo, hi, p[N];
	double mean_clean, mean_noisy, sd_clean, sd_noisy;
	gmm g;
	int c;

	two_gaussians_make(loss, N, 2024, 0.7, 0.2, 0.05, 0.8, 0.1);
	ref_normalise(loss, N, x, &lo, &hi);
	mean_clean = (0.2 - lo) / (hi - lo);
	mean_noisy = (0.8 - lo) / (hi - lo);
	sd_clean = 0.05 / (hi - lo);
	sd_noisy = 0.1 / (hi - lo);

	gmm_defaults(&g);
	is_int(gmm_init(&g, loss, N), TP_OK, "recovery: init");
	is_int(gmm_fit(&g), TP_OK, "recovery: fit");
	ok(g.converged || g.iter == g.max_iter, "recovery: fit stopped by tol or max_iter");
	ok(g.iter >= 1 && g.iter <= g.max_iter, "recovery: iter in 1..max_iter");
	diag("recovery: %d iterations, loglik %.6f", g.iter, g.loglik);

	c = gmm_clean_component(&g);
	is_near(g.weight[c], 0.7, 0.03, "recovery: clean weight");
	is_near(g.weight[1 - c], 0.3, 0.03, "recovery: noisy weight");
	is_near(g.mean[c], mean_clean, 0.02, "recovery: clean mean");
	is_near(g.mean[1 - c], mean_noisy, 0.02, "recovery: noisy mean");
	/* var includes reg_covar, so compare the standard deviation after it */
	is_near(sqrt(g.var[c] - g.reg_covar), sd_clean, 0.25 * sd_clean, "recovery: clean sd");
	is_near(sqrt(g.var[1 - c] - g.reg_covar), sd_noisy, 0.25 * sd_noisy, "recovery: noisy sd");

	/* samples near the clean mean are clean, those near the noisy mean noisy */
	gmm_clean_prob(&g, p);
	{
		int clean_ok = 1, noisy_ok = 1, in_range = 1;

		for (int i = 0; i < N; i++) {
			if (p[i] < 0.0 || p[i] > 1.0 || isnan(p[i]))
				in_range = 0;
			if (fabs(loss[i] - 0.2) < 0.05 && p[i] < 0.99)
				clean_ok = 0;
			if (fabs(loss[i] - 0.8) < 0.1 && p[i] > 0.01)
				noisy_ok = 0;
		}
		ok(in_range, "recovery: probabilities in [0, 1]");
		ok(clean_ok, "recovery: p > 0.99 within 1 sd of clean mean");
		ok(noisy_ok, "recovery: p < 0.01 within 1 sd of noisy mean");
	}
	gmm_clear(&g);
}

static void test_init_split(void)
{
	static const struct {
		const char *name;
		unsigned long seed;
		int n;
		int discrete; /* integer losses 0..4, so many ties */
	} cases[] = {
		{ "split continuous n=2", 1, 2, 0 },
		{ "split continuous n=3", 2, 3, 0 },
		{ "split continuous n=57", 3, 57, 0 },
		{ "split continuous n=300", 4, 300, 0 },
		{ "split discrete n=40", 5, 40, 1 },
		{ "split discrete n=200", 6, 200, 1 },
	};

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		int n = cases[c].n;
		double *loss = malloc((size_t)n * sizeof *loss);
		double *x = malloc((size_t)n * sizeof *x);
		gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
		double lo, hi, best, sse;
		ref_params ref;
		char name[128];
		gmm g;

		gsl_rng_set(rng, cases[c].seed);
		for (int i = 0; i < n; i++)
			loss[i] = cases[c].discrete ? (double)gsl_rng_uniform_int(rng, 5)
						    : gsl_ran_gaussian(rng, 1.0) +
							      (gsl_rng_uniform(rng) < 0.3 ? 3.0 : 0.0);
		gsl_rng_free(rng);
		ref_normalise(loss, n, x, &lo, &hi);

		gmm_defaults(&g);
		snprintf(name, sizeof name, "%s: init", cases[c].name);
		is_int(gmm_init(&g, loss, n), TP_OK, name);
		best = brute_split(x, n, g.reg_covar, &ref);

		/* the within-cluster sum of squares of gmm_init's split */
		sse = n * (g.weight[0] * (g.var[0] - g.reg_covar) +
			   g.weight[1] * (g.var[1] - g.reg_covar));
		snprintf(name, sizeof name, "%s: sum of squares", cases[c].name);
		is_near(sse, best, 1e-9 * (1.0 + best), name);
		snprintf(name, sizeof name, "%s: component 0 lower", cases[c].name);
		ok(g.mean[0] < g.mean[1], "%s", name);
		if (!cases[c].discrete)
			params_compare(&g, &ref, 1e-12, cases[c].name);
		snprintf(name, sizeof name, "%s: loglik", cases[c].name);
		is_near(g.loglik, ref_loglik(&ref, x, n), 1e-9, name);

		gmm_clear(&g);
		free(loss);
		free(x);
	}
}

static void test_degenerate(void)
{
	double equal[5] = { 0.3, 0.3, 0.3, 0.3, 0.3 };
	double one[1] = { 7.0 };
	double p[5] = { 0 };
	gmm g;
	int all_one = 1;

	gmm_defaults(&g);
	is_int(gmm_init(&g, equal, 5), TP_OK, "degenerate: init");
	is_int(g.degenerate, 1, "degenerate: flag set");
	ok(params_finite(&g), "degenerate: parameters finite");
	ok(all_finite(g.x, 5), "degenerate: normalised losses finite");
	is_near(g.weight[0] + g.weight[1], 1.0, 1e-15, "degenerate: weights sum to 1");
	is_int(gmm_step(&g), TP_OK, "degenerate: step ok");
	is_int(g.iter, 0, "degenerate: step is a no-op");
	is_int(gmm_fit(&g), TP_OK, "degenerate: fit ok");
	is_int(g.iter, 0, "degenerate: fit is a no-op");
	ok(params_finite(&g), "degenerate: finite after step and fit");
	gmm_clean_prob(&g, p);
	for (int i = 0; i < 5; i++)
		if (p[i] != 1.0)
			all_one = 0;
	ok(all_one, "degenerate: every p is 1");

	is_int(gmm_init(&g, one, 1), TP_OK, "degenerate: init n=1");
	is_int(g.degenerate, 1, "degenerate: n=1 flag set");
	gmm_clean_prob(&g, p);
	is_near(p[0], 1.0, 0.0, "degenerate: n=1 p is 1");

	/* a non-degenerate init clears the flag */
	{
		double two[2] = { 1.0, 2.0 };

		is_int(gmm_init(&g, two, 2), TP_OK, "degenerate: re-init n=2");
		is_int(g.degenerate, 0, "degenerate: flag cleared");
		is_near(g.weight[0], 0.5, 0.0, "degenerate: n=2 weight[0]");
		is_near(g.mean[0], 0.0, 0.0, "degenerate: n=2 mean[0]");
		is_near(g.mean[1], 1.0, 0.0, "degenerate: n=2 mean[1]");
		is_near(g.var[0], g.reg_covar, 0.0, "degenerate: n=2 var is reg_covar");
	}
	gmm_clear(&g);
}

/* Checks that several steps from the current state of g keep every value
 * finite, the weights summing to 1 and the variances at the floor or above. */
static void emptied_check(gmm *g, const char *when)
{
	enum { N = 100 };
	double p[N];
	int finite = 1, floor_ok = 1, sum_ok = 1, status_ok = 1;

	for (int t = 0; t < 5; t++) {
		if (gmm_step(g) != TP_OK)
			status_ok = 0;
		if (!params_finite(g))
			finite = 0;
		if (fabs(g->weight[0] + g->weight[1] - 1.0) > 1e-15)
			sum_ok = 0;
		if (g->var[0] < g->reg_covar || g->var[1] < g->reg_covar)
			floor_ok = 0;
	}
	gmm_clean_prob(g, p);
	ok(status_ok, "%s: steps ok", when);
	ok(finite, "%s: parameters and loglik finite", when);
	ok(sum_ok, "%s: weights sum to 1", when);
	ok(floor_ok, "%s: variances at least reg_covar", when);
	ok(all_finite(p, N), "%s: clean probabilities finite", when);
}

static void test_emptied_component(void)
{
	enum { N = 100 };
	double loss[N];
	gmm g;

	/* 99 equal losses and one outlier */
	for (int i = 0; i < N; i++)
		loss[i] = i == N - 1 ? 0.9 : 0.1;
	gmm_defaults(&g);
	is_int(gmm_init(&g, loss, N), TP_OK, "emptied: init");
	is_near(g.weight[1], 0.01, 1e-15, "emptied: outlier component weight");
	emptied_check(&g, "emptied: one outlier");

	/* component 1 moved far from every sample: its responsibilities
	 * underflow to exactly 0, and it keeps its mean */
	is_int(gmm_init(&g, loss, N), TP_OK, "emptied: re-init");
	g.mean[1] = 5.0;
	g.var[1] = g.reg_covar;
	emptied_check(&g, "emptied: far component");
	is_near(g.mean[1], 5.0, 0.0, "emptied: far component keeps its mean");
	ok(g.weight[1] < 1e-12, "emptied: far component weight near 0");
	is_int(gmm_clean_component(&g), 0, "emptied: clean is the populated one");

	/* responsibilities tiny but not 0 */
	is_int(gmm_init(&g, loss, N), TP_OK, "emptied: re-init 2");
	g.mean[1] = 1.5;
	g.var[1] = g.reg_covar;
	emptied_check(&g, "emptied: distant component");

	/* a component whose weight is exactly 0 */
	is_int(gmm_init(&g, loss, N), TP_OK, "emptied: re-init 3");
	g.weight[0] = 1.0;
	g.weight[1] = 0.0;
	emptied_check(&g, "emptied: zero weight");
	gmm_clear(&g);
}

static void test_monotone(void)
{
	static const unsigned long seeds[] = { 3, 17, 99 };

	/* EM never lowers the likelihood, but adding reg_covar to the M-step
	 * variance breaks that (the mean loglik fell by up to 1e-4 at the
	 * default 5e-4 on these data), so the floor here is nearly 0 */

	for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
		enum { N = 600 };
		double loss[N];
		double worst = 0.0;
		gmm g;

		/* overlapping components, so EM takes many visible steps */
		two_gaussians_make(loss, N, seeds[s], 0.6, 0.3, 0.1, 0.5, 0.15);
		gmm_defaults(&g);
		g.reg_covar = 1e-9;
		gmm_init(&g, loss, N);
		for (int t = 0; t < 40; t++) {
			double prev = g.loglik;

			gmm_step(&g);
			worst = fmax(worst, prev - g.loglik);
		}
		ok(worst <= 1e-10, "monotone: seed %lu loglik non-decreasing", seeds[s]);
		if (worst > 1e-10)
			diag("largest decrease %.3g", worst);
		gmm_clear(&g);
	}
}

static void test_errors(void)
{
	double loss[5] = { 0.1, 0.2, 0.3, 0.4, 0.5 };
	double mean0;
	gmm g;

	gmm_defaults(&g);
	is_int(gmm_step(&g), TP_ERR_STATE, "errors: step before init");
	is_int(gmm_fit(&g), TP_ERR_STATE, "errors: fit before init");

	loss[3] = NAN;
	is_int(gmm_init(&g, loss, 5), TP_ERR_VALUE, "errors: NaN loss");
	ok(strstr(tp_last_error(), "loss[3]") != NULL, "errors: NaN message names index");
	loss[3] = INFINITY;
	is_int(gmm_init(&g, loss, 5), TP_ERR_VALUE, "errors: infinite loss");
	loss[3] = 0.4;
	is_int(gmm_init(&g, loss, 0), TP_ERR_VALUE, "errors: n = 0");
	ok(g.x == NULL, "errors: failed init leaves g empty");

	g.reg_covar = 0.0;
	is_int(gmm_init(&g, loss, 5), TP_ERR_VALUE, "errors: reg_covar 0");
	g.reg_covar = GMM_DEFAULT_REG_COVAR;

	is_int(gmm_init(&g, loss, 5), TP_OK, "errors: valid init");
	mean0 = g.mean[0];
	loss[0] = NAN;
	is_int(gmm_init(&g, loss, 5), TP_ERR_VALUE, "errors: NaN re-init");
	is_int(g.n, 5, "errors: failed re-init keeps n");
	is_near(g.mean[0], mean0, 0.0, "errors: failed re-init keeps mean");

	g.reg_covar = -1.0;
	is_int(gmm_step(&g), TP_ERR_VALUE, "errors: step with negative reg_covar");
	g.reg_covar = GMM_DEFAULT_REG_COVAR;

	gmm_clear(&g);
	is_int(gmm_step(&g), TP_ERR_STATE, "errors: step after clear");
	is_near(g.reg_covar, GMM_DEFAULT_REG_COVAR, 0.0, "errors: clear keeps reg_covar");
}

static void test_settings_kept(void)
{
	double loss[4] = { 0.0, 0.1, 0.9, 1.0 };
	gmm g;

	gmm_defaults(&g);
	is_near(g.tol, GMM_DEFAULT_TOL, 0.0, "settings: default tol");
	is_int(g.max_iter, GMM_DEFAULT_MAX_ITER, "settings: default max_iter");
	g.max_iter = 3;
	g.tol = 0.0;
	g.reg_covar = 1e-3;
	gmm_init(&g, loss, 4);
	is_int(g.max_iter, 3, "settings: init keeps max_iter");
	is_near(g.reg_covar, 1e-3, 0.0, "settings: init keeps reg_covar");
	is_int(gmm_fit(&g), TP_OK, "settings: fit ok");
	is_int(g.iter, 3, "settings: fit stops at max_iter with tol 0");
	is_int(gmm_fit(&g), TP_OK, "settings: second fit ok");
	is_int(g.iter, 3, "settings: fit at max_iter does not step");
	gmm_clear(&g);
}

static void test_swapped_components(void)
{
	double loss[6] = { 0.0, 0.1, 0.2, 0.8, 0.9, 1.0 };
	double p[6];
	gmm g;
	double worst = 0.0;

	/* put the lower mean in component 1 by hand */
	gmm_defaults(&g);
	gmm_init(&g, loss, 6);
	g.mean[0] = 0.9;
	g.mean[1] = 0.1;
	is_int(gmm_clean_component(&g), 1, "swapped: clean component is 1");
	gmm_clean_prob(&g, p);
	for (int i = 0; i < 6; i++) {
		double a = g.weight[1] * ref_density(g.x[i], g.mean[1], g.var[1]);
		double b = g.weight[0] * ref_density(g.x[i], g.mean[0], g.var[0]);

		worst = fmax(worst, fabs(p[i] - a / (a + b)));
	}
	is_near(worst, 0.0, 1e-12, "swapped: posterior of component 1");
	ok(p[0] > 0.5 && p[5] < 0.5, "swapped: low loss clean, high loss noisy");

	/* narrow components: direct densities underflow, the posterior does not */
	g.var[0] = g.var[1] = 1e-6;
	gmm_clean_prob(&g, p);
	ok(all_finite(p, 6), "swapped: narrow components finite");
	is_near(p[0], 1.0, 0.0, "swapped: narrow p at 0 is 1");
	is_near(p[5], 0.0, 1e-300, "swapped: narrow p at 1 is 0");
	gmm_clear(&g);
}

static void test_determinism(void)
{
	enum { N = 800 };
	double loss[N], p1[N], p2[N];
	gmm a, b;

	two_gaussians_make(loss, N, 5, 0.7, 0.2, 0.05, 0.8, 0.1);
	gmm_defaults(&a);
	gmm_defaults(&b);
	gmm_init(&a, loss, N);
	gmm_init(&b, loss, N);
	gmm_fit(&a);
	gmm_fit(&b);
	gmm_clean_prob(&a, p1);
	gmm_clean_prob(&b, p2);
	ok(memcmp(a.mean, b.mean, sizeof a.mean) == 0, "determinism: means identical");
	ok(memcmp(a.var, b.var, sizeof a.var) == 0, "determinism: variances identical");
	ok(memcmp(a.weight, b.weight, sizeof a.weight) == 0, "determinism: weights identical");
	ok(a.loglik == b.loglik, "determinism: loglik identical");
	is_int(a.iter, b.iter, "determinism: iterations identical");
	ok(memcmp(p1, p2, sizeof p1) == 0, "determinism: probabilities identical");
	gmm_clear(&a);
	gmm_clear(&b);
}

int main(void)
{
	test_against_reference();
	test_recovery();
	test_init_split();
	test_degenerate();
	test_emptied_component();
	test_monotone();
	test_errors();
	test_settings_kept();
	test_swapped_components();
	test_determinism();
	return done_testing();
}
