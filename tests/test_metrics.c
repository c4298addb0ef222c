#include "config.h"

#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_rng.h>

#include "metrics.h"
#include "tap.h"

/* AUROC by comparing every positive with every negative: 1 when the
 * positive scores higher, 1/2 on a tie. */
static double brute_auroc(const double *score, const int *positive, int n)
{
	double wins = 0.0, pairs = 0.0;

	for (int i = 0; i < n; i++) {
		if (!positive[i])
			continue;
		for (int j = 0; j < n; j++) {
			if (positive[j])
				continue;
			pairs += 1.0;
			if (score[i] > score[j])
				wins += 1.0;
			else if (score[i] == score[j])
				wins += 0.5;
		}
	}
	return wins / pairs;
}

static void test_auroc_brute(void)
{
	static const unsigned long seeds[] = { 1, 7, 42, 1234, 99999 };
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);

	for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
		int n_checked = 0, n_failed = 0;
		double worst = 0.0;

		gsl_rng_set(rng, seeds[s]);
		for (int trial = 0; trial < 200; trial++) {
			int n = 1 + (int)gsl_rng_uniform_int(rng, 60);
			/* few distinct values, so most scores are tied with others */
			unsigned long levels = 1 + gsl_rng_uniform_int(rng, 6);
			double *score = malloc((size_t)n * sizeof *score);
			int *positive = malloc((size_t)n * sizeof *positive);
			int npos = 0;
			double got;

			for (int i = 0; i < n; i++) {
				score[i] = (double)gsl_rng_uniform_int(rng, levels);
				positive[i] = gsl_rng_uniform(rng) < 0.4;
				npos += positive[i];
			}
			got = metrics_auroc(score, positive, n);
			if (npos == 0 || npos == n) {
				if (!isnan(got))
					n_failed++;
			} else {
				double expected = brute_auroc(score, positive, n);

				worst = fmax(worst, fabs(got - expected));
				n_checked++;
			}
			free(score);
			free(positive);
		}
		ok(n_failed == 0, "auroc: seed %lu one class gives NaN", seeds[s]);
		ok(n_checked > 100, "auroc: seed %lu checked %d samples", seeds[s], n_checked);
		ok(worst <= 1e-12, "auroc: seed %lu matches pair count", seeds[s]);
		if (worst > 1e-12)
			diag("largest difference %.3g", worst);
	}
	gsl_rng_free(rng);
}

static void test_auroc_cases(void)
{
	double score[6] = { 0.1, 0.2, 0.3, 0.7, 0.8, 0.9 };
	int up[6] = { 0, 0, 0, 1, 1, 1 };
	int down[6] = { 1, 1, 1, 0, 0, 0 };
	int none[6] = { 0 };
	int all[6] = { 1, 1, 1, 1, 1, 1 };
	int nonunit[6] = { 0, 0, 0, 2, -1, 5 };
	double flat[6] = { 3, 3, 3, 3, 3, 3 };
	double hand[4] = { 0.1, 0.4, 0.35, 0.8 };
	int hand_pos[4] = { 0, 0, 1, 1 };
	double with_nan[6] = { 0.1, NAN, 0.3, 0.7, 0.8, 0.9 };

	is_near(metrics_auroc(score, up, 6), 1.0, 0.0, "auroc: perfect ranking");
	is_near(metrics_auroc(score, down, 6), 0.0, 0.0, "auroc: inverted ranking");
	is_near(metrics_auroc(flat, up, 6), 0.5, 0.0, "auroc: all tied");
	is_near(metrics_auroc(score, nonunit, 6), 1.0, 0.0, "auroc: nonzero means positive");
	/* pairs: 0.35 beats 0.1 but not 0.4, 0.8 beats both, so 3 of 4 */
	is_near(metrics_auroc(hand, hand_pos, 4), 0.75, 1e-15, "auroc: hand example");
	ok(isnan(metrics_auroc(score, none, 6)), "auroc: no positives is NaN");
	ok(isnan(metrics_auroc(score, all, 6)), "auroc: no negatives is NaN");
	ok(isnan(metrics_auroc(score, up, 0)), "auroc: n = 0 is NaN");
	ok(isnan(metrics_auroc(with_nan, up, 6)), "auroc: NaN score is NaN");
}

static void test_split_quality_hand(void)
{
	/* i:               0    1    2    3    4    5    6    7 */
	double p_clean[8] = { 0.9, 0.2, 0.4, 0.8, 0.1, 0.6, 0.5, 0.7 };
	double loss[8] = { 0.2, 1.5, 0.7, 0.7, 2.0, 0.3, 0.7, 0.1 };
	int given[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	int truth[8] = { 0, 0, 2, 1, 9, 5, 7, 7 };
	split_quality q;

	/* noisy: 1 3 4 6.  Predicted noisy (p < 0.5): 1 2 4; p = 0.5 at 6 is
	 * clean.  So TP = {1, 4}, FP = {2}, FN = {3, 6}, TN = {0, 5, 7}. */
	metrics_split_quality(p_clean, loss, given, truth, 8, 0.5, &q);
	is_int(q.n, 8, "split: n");
	is_int(q.true_pos, 2, "split: true_pos");
	is_int(q.false_pos, 1, "split: false_pos");
	is_int(q.false_neg, 2, "split: false_neg");
	is_int(q.true_neg, 3, "split: true_neg");
	is_near(q.precision, 2.0 / 3.0, 1e-15, "split: precision");
	is_near(q.recall, 0.5, 1e-15, "split: recall");
	is_near(q.f1, 4.0 / 7.0, 1e-15, "split: f1");
	/* 1 - p of the noisy 0.8 0.2 0.9 0.5 against the clean 0.1 0.6 0.4 0.3:
	 * 4 + 1 + 4 + 3 = 12 wins of 16 pairs */
	is_near(q.auroc_posterior, 12.0 / 16.0, 1e-15, "split: auroc_posterior");
	/* loss of the noisy 1.5 0.7 2.0 0.7 against the clean 0.2 0.7 0.3 0.1:
	 * 4 + 3.5 + 4 + 3.5 = 15 of 16, each 0.7 tying once */
	is_near(q.auroc_loss, 15.0 / 16.0, 1e-15, "split: auroc_loss with ties");

	metrics_split_quality(p_clean, NULL, given, truth, 8, 0.5, &q);
	ok(isnan(q.auroc_loss), "split: no loss gives NaN auroc_loss");
	is_near(q.auroc_posterior, 0.75, 1e-15, "split: auroc_posterior without loss");

	/* tau moves the boundary: p < 0.55 now also takes sample 6 */
	metrics_split_quality(p_clean, loss, given, truth, 8, 0.55, &q);
	is_int(q.true_pos, 3, "split: tau 0.55 true_pos");
	is_int(q.false_neg, 1, "split: tau 0.55 false_neg");
}

static void test_split_quality_nan(void)
{
	double all_clean[4] = { 1.0, 1.0, 0.9, 0.8 };
	double mixed[4] = { 0.1, 0.9, 0.2, 0.9 };
	int given[4] = { 0, 1, 2, 3 };
	int noisy_truth[4] = { 0, 0, 2, 2 };  /* 1 and 3 noisy */
	int clean_truth[4] = { 0, 1, 2, 3 };  /* none noisy */
	split_quality q;

	metrics_split_quality(all_clean, NULL, given, noisy_truth, 4, 0.5, &q);
	is_int(q.true_pos + q.false_pos, 0, "split nan: nothing predicted noisy");
	ok(isnan(q.precision), "split nan: precision NaN");
	is_near(q.recall, 0.0, 0.0, "split nan: recall 0");
	ok(isnan(q.f1), "split nan: f1 NaN without precision");

	metrics_split_quality(mixed, NULL, given, clean_truth, 4, 0.5, &q);
	ok(isnan(q.recall), "split nan: recall NaN with no noise");
	is_near(q.precision, 0.0, 0.0, "split nan: precision 0 with no noise");
	ok(isnan(q.f1), "split nan: f1 NaN without recall");
	ok(isnan(q.auroc_posterior), "split nan: auroc NaN with no noise");

	/* predicted noisy 0 and 2 are clean, noisy 1 and 3 predicted clean */
	metrics_split_quality(mixed, NULL, given, noisy_truth, 4, 0.5, &q);
	is_near(q.precision, 0.0, 0.0, "split nan: precision 0");
	is_near(q.recall, 0.0, 0.0, "split nan: recall 0 both");
	ok(isnan(q.f1), "split nan: f1 NaN when both 0");
	is_near(q.auroc_posterior, 0.0, 0.0, "split nan: auroc inverted");

	metrics_split_quality(mixed, NULL, given, noisy_truth, 0, 0.5, &q);
	is_int(q.n, 0, "split nan: n = 0");
	ok(isnan(q.precision) && isnan(q.recall) && isnan(q.f1), "split nan: n = 0 ratios NaN");
	ok(isnan(q.auroc_posterior) && isnan(q.auroc_loss), "split nan: n = 0 aurocs NaN");
}

static void test_accuracy(void)
{
	int pred[5] = { 1, 2, 3, 4, 5 };
	int truth[5] = { 1, 0, 3, 0, 5 };

	is_near(metrics_accuracy(pred, truth, 5), 0.6, 1e-15, "accuracy: 3 of 5");
	is_near(metrics_accuracy(pred, pred, 5), 1.0, 0.0, "accuracy: all correct");
	is_near(metrics_accuracy(pred, truth, 2), 0.5, 0.0, "accuracy: prefix 1 of 2");
	ok(isnan(metrics_accuracy(pred, truth, 0)), "accuracy: n = 0 is NaN");
}

int main(void)
{
	test_auroc_brute();
	test_auroc_cases();
	test_split_quality_hand();
	test_split_quality_nan();
	test_accuracy();
	return done_testing();
}
