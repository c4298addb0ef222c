#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clamp.h"
#include "selector.h"

static const char *const selector_names[SELECTOR_COUNT] = {
	"gmm", "gmm-class", "joapr", "ot", "small-loss", "oracle"
};

const char *selector_name(selector_kind kind)
{
	if (kind < 0 || kind >= SELECTOR_COUNT)
		return "unknown";
	return selector_names[kind];
}

int selector_parse(const char *name, selector_kind *kind)
{
	for (int k = 0; k < SELECTOR_COUNT; k++) {
		if (strcmp(name, selector_names[k]) == 0) {
			*kind = (selector_kind)k;
			return 0;
		}
	}
	return -1;
}

double selector_gmm_crossing(const gmm *g)
{
	int lo = gmm_clean_component(g);
	int hi = 1 - lo;
	double m0 = g->mean[lo], m1 = g->mean[hi];
	double v0 = g->var[lo], v1 = g->var[hi];
	double w0 = g->weight[lo], w1 = g->weight[hi];
	double a, b, c, disc;

	/* log w0 N(x|m0,v0) = log w1 N(x|m1,v1) is the quadratic a x^2 + b x + c = 0 */
	a = 0.5 / v1 - 0.5 / v0;
	b = m0 / v0 - m1 / v1;
	c = 0.5 * m1 * m1 / v1 - 0.5 * m0 * m0 / v0 + log(w0 / w1) - 0.5 * log(v0 / v1);
	if (fabs(a) < 1e-12) {
		if (fabs(b) > 1e-12) {
			double x = -c / b;

			if (x >= m0 && x <= m1)
				return x;
		}
		return 0.5 * (m0 + m1);
	}
	disc = b * b - 4.0 * a * c;
	if (disc >= 0.0) {
		double r1 = (-b + sqrt(disc)) / (2.0 * a);
		double r2 = (-b - sqrt(disc)) / (2.0 * a);

		if (r1 >= m0 && r1 <= m1)
			return r1;
		if (r2 >= m0 && r2 <= m1)
			return r2;
	}
	return 0.5 * (m0 + m1);
}

tp_status selector_sinkhorn(const float *prob, int n, int n_classes, double reg,
			    int iters, double *plan)
{
	double *v = malloc((size_t)n_classes * sizeof *v);
	double *colsum = malloc((size_t)n_classes * sizeof *colsum);

	if (!v || !colsum) {
		free(v);
		free(colsum);
		return tp_fail(TP_ERR_NOMEM, "ot: out of memory for %d classes", n_classes);
	}

	/* K = prob^(1/reg), each row scaled by its maximum: a row scale is
	 * absorbed by the row factor u, and keeps every row from underflowing */
	for (int i = 0; i < n; i++) {
		const float *pi = prob + (size_t)i * n_classes;
		double *ki = plan + (size_t)i * n_classes;
		double lmax = -INFINITY;

		for (int c = 0; c < n_classes; c++) {
			ki[c] = log(pi[c] > 1e-30f ? (double)pi[c] : 1e-30) / reg;
			if (ki[c] > lmax)
				lmax = ki[c];
		}
		for (int c = 0; c < n_classes; c++)
			ki[c] = exp(ki[c] - lmax);
	}

	/* alternate u = a / (K v) and v = b / (K^T u), with a = 1/n, b = 1/C */
	for (int c = 0; c < n_classes; c++)
		v[c] = 1.0;
	for (int it = 0; it < iters; it++) {
		memset(colsum, 0, (size_t)n_classes * sizeof *colsum);
		for (int i = 0; i < n; i++) {
			const double *ki = plan + (size_t)i * n_classes;
			double kv = 0.0;

			for (int c = 0; c < n_classes; c++)
				kv += ki[c] * v[c];
			for (int c = 0; c < n_classes; c++)
				colsum[c] += ki[c] / (n * kv);
		}
		for (int c = 0; c < n_classes; c++)
			v[c] = colsum[c] > 0.0 ? (1.0 / n_classes) / colsum[c] : 0.0;
	}

	/* the plan's rows up to the factor u_i: K_ic v_c, normalised per row */
	for (int i = 0; i < n; i++) {
		double *ki = plan + (size_t)i * n_classes;
		double sum = 0.0;

		for (int c = 0; c < n_classes; c++) {
			ki[c] *= v[c];
			sum += ki[c];
		}
		for (int c = 0; c < n_classes; c++)
			ki[c] = sum > 0.0 ? ki[c] / sum : 1.0 / n_classes;
	}
	free(v);
	free(colsum);
	return TP_OK;
}

static tp_status select_gmm_class(const selector_input *in, const gmm *global, double *p)
{
	int *idx = malloc((size_t)in->n * sizeof *idx);
	double *loss = malloc((size_t)in->n * sizeof *loss);
	double *pc = malloc((size_t)in->n * sizeof *pc);
	tp_status st = TP_OK;

	if (!idx || !loss || !pc) {
		st = tp_fail(TP_ERR_NOMEM, "gmm-class: out of memory for %d samples", in->n);
		goto done;
	}
	for (int c = 0; c < in->n_classes && st == TP_OK; c++) {
		gmm g;
		int m = 0;

		for (int i = 0; i < in->n; i++) {
			if (in->given[i] == c) {
				idx[m] = i;
				loss[m] = in->loss[i];
				m++;
			}
		}
		if (m == 0)
			continue;
		gmm_defaults(&g);
		g.reg_covar = global->reg_covar;
		g.tol = global->tol;
		g.max_iter = global->max_iter;
		st = gmm_init(&g, loss, m);
		if (st == TP_OK)
			st = gmm_fit(&g);
		if (st == TP_OK) {
			gmm_clean_prob(&g, pc);
			for (int j = 0; j < m; j++)
				p[idx[j]] = pc[j];
		}
		gmm_clear(&g);
	}
done:
	free(idx);
	free(loss);
	free(pc);
	return st;
}

static void select_joapr(const selector_settings *s, const gmm *g, double *p)
{
	double crossing = selector_gmm_crossing(g);
	double noise_rate = g->weight[1 - gmm_clean_component(g)];
	double threshold = clamp_double(noise_rate, s->tau, 0.95);

	gmm_clean_prob(g, p);
	if (g->degenerate)
		return;
	for (int i = 0; i < g->n; i++) {
		int clean = g->x[i] <= crossing || p[i] >= threshold;

		/* keep the posterior where it agrees with the decision, else move it
		 * just across tau */
		if (clean && p[i] < s->tau)
			p[i] = s->tau;
		else if (!clean && p[i] >= s->tau)
			p[i] = 0.0;
	}
}

typedef struct ranked_loss {
	double loss;
	int index;
} ranked_loss;

/* Ascending loss, ties by index, so the ranking is deterministic. */
static int ranked_loss_cmp(const void *a, const void *b)
{
	const ranked_loss *x = a, *y = b;

	if (x->loss != y->loss)
		return x->loss < y->loss ? -1 : 1;
	return x->index - y->index;
}

static tp_status select_small_loss(const selector_settings *s, const selector_input *in,
				   const gmm *g, double *p)
{
	ranked_loss *rank = malloc((size_t)in->n * sizeof *rank);
	double rate = s->forget_rate;
	double ramp;
	int keep;

	if (!rank)
		return tp_fail(TP_ERR_NOMEM, "small-loss: out of memory for %d samples", in->n);
	if (rate < 0.0)
		rate = g->degenerate ? 0.0 : g->weight[1 - gmm_clean_component(g)];
	ramp = s->forget_epochs > 0 ? (double)in->epoch / s->forget_epochs : 1.0;
	if (ramp > 1.0)
		ramp = 1.0;
	keep = (int)lround((1.0 - rate * ramp) * in->n);

	for (int i = 0; i < in->n; i++) {
		rank[i].loss = in->loss[i];
		rank[i].index = i;
	}
	qsort(rank, (size_t)in->n, sizeof *rank, ranked_loss_cmp);
	for (int r = 0; r < in->n; r++)
		p[rank[r].index] = r < keep ? 1.0 : 0.0;
	free(rank);
	return TP_OK;
}

static tp_status select_ot(const selector_settings *s, const selector_input *in, double *p)
{
	int C = in->n_classes;
	double *plan;
	tp_status st;

	if (!in->prob)
		return tp_fail(TP_ERR_STATE, "ot: the selector needs the head's softmax outputs");
	plan = malloc((size_t)in->n * (size_t)C * sizeof *plan);
	if (!plan)
		return tp_fail(TP_ERR_NOMEM, "ot: out of memory for a %d x %d plan", in->n, C);
	st = selector_sinkhorn(in->prob, in->n, C, s->ot_reg, s->ot_iters, plan);
	for (int i = 0; i < in->n && st == TP_OK; i++) {
		const double *row = plan + (size_t)i * C;
		int best = 0;

		for (int c = 1; c < C; c++)
			if (row[c] > row[best])
				best = c;
		p[i] = best == in->given[i] ? 1.0 : 0.0;
	}
	free(plan);
	return st;
}

tp_status selector_apply(selector_kind kind, const selector_settings *s,
			 const selector_input *in, const gmm *g, double *p)
{
	if (kind == SELECTOR_OT && !(s->ot_reg > 0.0))
		return tp_fail(TP_ERR_VALUE, "ot: ot_reg is %g: set a positive regularisation such as 1", s->ot_reg);
	if (kind == SELECTOR_SMALL_LOSS && s->forget_rate >= 1.0)
		return tp_fail(TP_ERR_VALUE, "small-loss: forget_rate is %g: set a value below 1 (or -1 to estimate it)",
			       s->forget_rate);

	switch (kind) {
	case SELECTOR_GMM:
		gmm_clean_prob(g, p);
		return TP_OK;
	case SELECTOR_GMM_CLASS:
		return select_gmm_class(in, g, p);
	case SELECTOR_JOAPR:
		select_joapr(s, g, p);
		return TP_OK;
	case SELECTOR_OT:
		return select_ot(s, in, p);
	case SELECTOR_SMALL_LOSS:
		return select_small_loss(s, in, g, p);
	case SELECTOR_ORACLE:
		if (!in->truth)
			return tp_fail(TP_ERR_STATE, "oracle: the true labels are unknown for this data set");
		for (int i = 0; i < in->n; i++)
			p[i] = in->given[i] == in->truth[i] ? 1.0 : 0.0;
		return TP_OK;
	}
	return tp_fail(TP_ERR_VALUE, "selector: unknown kind %d", (int)kind);
}
