#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "metrics.h"

/* One sample of a ranking: its score and whether it is in the positive class. */
typedef struct ranked {
	double score;
	int positive;
} ranked;

static int ranked_compare(const void *pa, const void *pb)
{
	const ranked *a = pa, *b = pb;

	return (a->score > b->score) - (a->score < b->score);
}

/* Sorts items (n) in place and returns the Mann-Whitney U of the positives
 * divided by npos * nneg, each group of tied scores given its average rank.
 * Returns NAN when either class is empty or a score is NaN. */
static double ranked_auroc(ranked *items, int n)
{
	double npos = 0.0, nneg, rank_sum = 0.0;
	int i = 0;

	for (int j = 0; j < n; j++) {
		if (isnan(items[j].score))
			return NAN;
		if (items[j].positive)
			npos += 1.0;
	}
	nneg = n - npos;
	if (npos == 0.0 || nneg == 0.0)
		return NAN;

	qsort(items, (size_t)n, sizeof *items, ranked_compare);

	/* ranks are 1-based, so the tie group items[i..j) shares the average
	 * rank (i + 1 + j) / 2 */
	while (i < n) {
		int j = i + 1;
		int group_pos = items[i].positive != 0;
		double average_rank;

		while (j < n && items[j].score == items[i].score) {
			group_pos += items[j].positive != 0;
			j++;
		}
		average_rank = 0.5 * ((double)i + 1.0 + (double)j);
		rank_sum += group_pos * average_rank;
		i = j;
	}
	return (rank_sum - npos * (npos + 1.0) / 2.0) / (npos * nneg);
}

/* NOTE: returns NAN also when the n-item scratch array cannot be allocated. */
double metrics_auroc(const double *score, const int *positive, int n)
{
	ranked *items;
	double auroc;

	if (n <= 0)
		return NAN;
	items = malloc((size_t)n * sizeof *items);
	if (!items)
		return NAN;
	for (int i = 0; i < n; i++) {
		items[i].score = score[i];
		items[i].positive = positive[i] != 0;
	}
	auroc = ranked_auroc(items, n);
	free(items);
	return auroc;
}

static double ratio_or_nan(int num, int den)
{
	return den > 0 ? (double)num / den : NAN;
}

/* Both AUROCs rank the noisy class (given != truth) as the positive one. */
static void split_aurocs(const double *p_clean, const double *loss, const int *given,
			 const int *truth, int n, split_quality *q)
{
	ranked *items = n > 0 ? malloc((size_t)n * sizeof *items) : NULL;

	q->auroc_posterior = NAN;
	q->auroc_loss = NAN;
	if (!items)
		return;

	for (int i = 0; i < n; i++) {
		items[i].score = 1.0 - p_clean[i];
		items[i].positive = given[i] != truth[i];
	}
	q->auroc_posterior = ranked_auroc(items, n);

	if (loss) {
		for (int i = 0; i < n; i++) {
			items[i].score = loss[i];
			items[i].positive = given[i] != truth[i];
		}
		q->auroc_loss = ranked_auroc(items, n);
	}
	free(items);
}

void metrics_split_quality(const double *p_clean, const double *loss,
			   const int *given, const int *truth, int n, double tau,
			   split_quality *q)
{
	q->n = n;
	q->true_pos = q->false_pos = q->false_neg = q->true_neg = 0;

	/* confusion counts, "noisy" being the positive class */
	for (int i = 0; i < n; i++) {
		int predicted_noisy = p_clean[i] < tau;
		int noisy = given[i] != truth[i];

		if (predicted_noisy && noisy)
			q->true_pos++;
		else if (predicted_noisy)
			q->false_pos++;
		else if (noisy)
			q->false_neg++;
		else
			q->true_neg++;
	}

	q->precision = ratio_or_nan(q->true_pos, q->true_pos + q->false_pos);
	q->recall = ratio_or_nan(q->true_pos, q->true_pos + q->false_neg);
	if (isnan(q->precision) || isnan(q->recall) || q->precision + q->recall == 0.0)
		q->f1 = NAN;
	else
		q->f1 = 2.0 * q->precision * q->recall / (q->precision + q->recall);

	split_aurocs(p_clean, loss, given, truth, n, q);
}

double metrics_accuracy(const int *pred, const int *truth, int n)
{
	int correct = 0;

	if (n <= 0)
		return NAN;
	for (int i = 0; i < n; i++)
		correct += pred[i] == truth[i];
	return (double)correct / n;
}
