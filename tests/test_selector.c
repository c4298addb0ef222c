/* Selectors against small cases whose results are worked out by hand. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"
#include "tap.h"

static selector_settings default_settings(void)
{
	selector_settings s = { 0.5, -1.0, 0, 1.0, 200 };

	return s;
}

/* Two samples, two classes, cost -log p with reg 1: the plan P = diag(u) p
 * diag(v) with marginals 1/2 keeps the cross ratio P11 P22 / (P12 P21) of p,
 * (0.9 * 0.2) / (0.1 * 0.8) = 2.25, so P = [[0.3, 0.2], [0.2, 0.3]]. */
static void test_sinkhorn_known_plan(void)
{
	const float prob[4] = { 0.9f, 0.1f, 0.8f, 0.2f };
	double plan[4];

	ok(selector_sinkhorn(prob, 2, 2, 1.0, 500, plan) == TP_OK, "sinkhorn runs");
	is_near(plan[0], 0.6, 1e-6, "row 1 keeps 0.6 at class 0");
	is_near(plan[1], 0.4, 1e-6, "row 1 sends 0.4 to class 1");
	is_near(plan[2], 0.4, 1e-6, "row 2 keeps 0.4 at class 0");
	is_near(plan[3], 0.6, 1e-6, "row 2 sends 0.6 to class 1");
}

static void test_ot_selector(void)
{
	const float prob[4] = { 0.9f, 0.1f, 0.8f, 0.2f };
	const int given[2] = { 0, 0 };
	double loss[2] = { 0.1, 0.2 }, p[2];
	selector_settings s = default_settings();
	selector_input in = { 2, 2, loss, given, NULL, prob, 1 };
	gmm g;

	gmm_defaults(&g);
	/* sample 2 prefers class 0, but the balanced transport moves it to class 1 */
	ok(selector_apply(SELECTOR_OT, &s, &in, &g, p) == TP_OK, "ot selector runs");
	is_near(p[0], 1.0, 0, "ot: sample transported to its label is clean");
	is_near(p[1], 0.0, 0, "ot: sample transported elsewhere is noisy");
	in.prob = NULL;
	ok(selector_apply(SELECTOR_OT, &s, &in, &g, p) == TP_ERR_STATE, "ot without softmax rejected");
}

static void test_crossing(void)
{
	gmm g;
	double x, lhs, rhs;

	gmm_defaults(&g);
	g.mean[0] = 0.2; g.var[0] = 0.01; g.weight[0] = 0.5;
	g.mean[1] = 0.8; g.var[1] = 0.01; g.weight[1] = 0.5;
	is_near(selector_gmm_crossing(&g), 0.5, 1e-12, "equal Gaussians cross at the midpoint");

	g.var[1] = 0.04;
	g.weight[0] = 0.7; g.weight[1] = 0.3;
	x = selector_gmm_crossing(&g);
	lhs = 0.7 * exp(-(x - 0.2) * (x - 0.2) / 0.02) / sqrt(0.01);
	rhs = 0.3 * exp(-(x - 0.8) * (x - 0.8) / 0.08) / sqrt(0.04);
	ok(x > 0.2 && x < 0.8, "crossing lies between the means (%.4f)", x);
	is_near(lhs / rhs, 1.0, 1e-9, "weighted densities are equal at the crossing");
}

static void test_small_loss(void)
{
	double loss[20], p[20];
	int given[20] = { 0 };
	selector_settings s = default_settings();
	selector_input in = { 20, 2, loss, given, NULL, NULL, 1 };
	gmm g;
	int kept = 0, worst_kept = 0;

	for (int i = 0; i < 20; i++)
		loss[i] = (double)((i * 7) % 20);   /* a permutation of 0..19 */
	gmm_defaults(&g);
	s.forget_rate = 0.3;
	s.forget_epochs = 2;   /* at epoch 1 of 2: forget 0.15, keep 17 */
	ok(selector_apply(SELECTOR_SMALL_LOSS, &s, &in, &g, p) == TP_OK, "small-loss runs");
	for (int i = 0; i < 20; i++) {
		kept += p[i] == 1.0;
		if (p[i] == 1.0 && loss[i] > worst_kept)
			worst_kept = (int)loss[i];
	}
	is_int(kept, 17, "ramped forget rate keeps 17 of 20");
	is_int(worst_kept, 16, "the kept ones are the 17 smallest losses");
	in.epoch = 5;
	selector_apply(SELECTOR_SMALL_LOSS, &s, &in, &g, p);
	kept = 0;
	for (int i = 0; i < 20; i++)
		kept += p[i] == 1.0;
	is_int(kept, 14, "after the ramp, forget rate 0.3 keeps 14 of 20");
}

static void test_gmm_class(void)
{
	enum { N = 200 };
	double loss[N], p[N];
	int given[N], noisy_found[2] = { 0, 0 }, clean_kept[2] = { 0, 0 };
	selector_settings s = default_settings();
	selector_input in = { N, 2, loss, given, NULL, NULL, 1 };
	gmm g;

	/* class 0 losses near 0.1 with outliers near 1; class 1 near 2 with
	 * outliers near 3: a global split would call all of class 1 noisy */
	for (int i = 0; i < N; i++) {
		int c = i < N / 2 ? 0 : 1;
		int outlier = i % 10 == 0;

		given[i] = c;
		loss[i] = (c ? 2.0 : 0.1) + (outlier ? 1.0 : 0.0) + 0.001 * (i % 7);
	}
	gmm_defaults(&g);
	ok(gmm_init(&g, loss, N) == TP_OK && gmm_fit(&g) == TP_OK, "global GMM fitted");
	ok(selector_apply(SELECTOR_GMM_CLASS, &s, &in, &g, p) == TP_OK, "gmm-class runs");
	for (int i = 0; i < N; i++) {
		int c = given[i];

		if (i % 10 == 0)
			noisy_found[c] += p[i] < 0.5;
		else
			clean_kept[c] += p[i] >= 0.5;
	}
	is_int(noisy_found[0], 10, "class 0 outliers called noisy");
	is_int(noisy_found[1], 10, "class 1 outliers called noisy");
	is_int(clean_kept[0], 90, "class 0 inliers called clean");
	is_int(clean_kept[1], 90, "class 1 inliers called clean");
	gmm_clear(&g);
}

static void test_joapr_and_oracle(void)
{
	double loss[6] = { 0.0, 0.05, 0.1, 0.9, 0.95, 1.0 }, p[6];
	int given[6] = { 0, 1, 0, 1, 0, 1 }, truth[6] = { 0, 1, 0, 0, 1, 0 };
	selector_settings s = default_settings();
	selector_input in = { 6, 2, loss, given, truth, NULL, 1 };
	gmm g;
	int pattern_ok = 1;

	gmm_defaults(&g);
	gmm_init(&g, loss, 6);
	gmm_fit(&g);
	ok(selector_apply(SELECTOR_JOAPR, &s, &in, &g, p) == TP_OK, "joapr runs");
	for (int i = 0; i < 6; i++)
		pattern_ok &= (p[i] >= 0.5) == (i < 3);
	ok(pattern_ok, "joapr: losses below the crossing are clean, above it noisy");
	ok(selector_apply(SELECTOR_ORACLE, &s, &in, &g, p) == TP_OK, "oracle runs");
	pattern_ok = 1;
	for (int i = 0; i < 6; i++)
		pattern_ok &= (p[i] == 1.0) == (given[i] == truth[i]);
	ok(pattern_ok, "oracle: clean exactly where the given label is true");
	in.truth = NULL;
	ok(selector_apply(SELECTOR_ORACLE, &s, &in, &g, p) == TP_ERR_STATE, "oracle without truth rejected");
	gmm_clear(&g);
}

static void test_names(void)
{
	selector_kind k;

	ok(selector_parse("small-loss", &k) == 0 && k == SELECTOR_SMALL_LOSS, "selector names parse");
	ok(selector_parse("dividemix", &k) == -1, "unknown selector rejected");
	ok(strcmp(selector_name(SELECTOR_GMM_CLASS), "gmm-class") == 0, "selector name of gmm-class");
}

int main(void)
{
	test_sinkhorn_known_plan();
	test_ot_selector();
	test_crossing();
	test_small_loss();
	test_gmm_class();
	test_joapr_and_oracle();
	test_names();
	return done_testing();
}
