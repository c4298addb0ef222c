#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "noise.h"
#include "rng.h"

static const char *const kind_names[] = { "none", "sym", "sym-incl", "pair" };

const char *noise_kind_name(noise_kind kind)
{
	if (kind < NOISE_NONE || kind > NOISE_PAIR)
		return "unknown";
	return kind_names[kind];
}

int noise_kind_parse(const char *name, noise_kind *kind)
{
	for (int k = NOISE_NONE; k <= NOISE_PAIR; k++) {
		if (strcmp(name, kind_names[k]) == 0) {
			*kind = (noise_kind)k;
			return 0;
		}
	}
	return -1;
}

/* Draws the new label of one chosen sample of true class y. */
static int draw_label(noise_kind kind, int y, int n_classes, rng *gen)
{
	int g;

	switch (kind) {
	case NOISE_SYM:
		/* uniform over the C - 1 classes other than y */
		g = (int)rng_uniform_int(gen, (unsigned long)(n_classes - 1));
		return g >= y ? g + 1 : g;
	case NOISE_SYM_INCL:
		return (int)rng_uniform_int(gen, (unsigned long)n_classes);
	case NOISE_PAIR:
		return (y + 1) % n_classes;
	case NOISE_NONE:
		break;
	}
	return y;
}

tp_status noise_apply(noise_kind kind, double rate, unsigned long seed,
		      const int *y_true, int n, int n_classes, int *y_given,
		      int *n_chosen)
{
	rng *gen;
	int *order;
	int count;

	if (!(rate >= 0.0 && rate <= 1.0))
		return tp_fail(TP_ERR_VALUE, "noise: rate %g is outside [0, 1]: give a fraction such as 0.4", rate);
	if (n_classes < 2)
		return tp_fail(TP_ERR_VALUE, "noise: the data set has %d class: label noise needs at least 2", n_classes);
	for (int i = 0; i < n; i++) {
		if (y_true[i] < 0 || y_true[i] >= n_classes)
			return tp_fail(TP_ERR_VALUE, "noise: true label %d of sample %d is outside 0..%d",
				       y_true[i], i, n_classes - 1);
	}

	memcpy(y_given, y_true, (size_t)n * sizeof *y_given);
	if (n_chosen)
		*n_chosen = 0;
	if (kind == NOISE_NONE || n == 0)
		return TP_OK;

	count = (int)lround(rate * n);
	order = malloc((size_t)n * sizeof *order);
	gen = rng_create(seed);
	if (!order || !gen) {
		free(order);
		rng_free(gen);
		return tp_fail(TP_ERR_NOMEM, "noise: out of memory for %d samples", n);
	}

	/* the first `count` entries of a seeded permutation are corrupted */
	for (int i = 0; i < n; i++)
		order[i] = i;
	rng_shuffle_int(gen, order, (size_t)n);
	for (int j = 0; j < count; j++) {
		int i = order[j];

		y_given[i] = draw_label(kind, y_true[i], n_classes, gen);
	}
	if (n_chosen)
		*n_chosen = count;

	rng_free(gen);
	free(order);
	return TP_OK;
}

void noise_transition(const int *y_true, const int *y_given, int n, int n_classes,
		      int *counts)
{
	memset(counts, 0, (size_t)n_classes * (size_t)n_classes * sizeof *counts);
	for (int i = 0; i < n; i++)
		counts[y_true[i] * n_classes + y_given[i]]++;
}

double noise_realised_rate(const int *y_true, const int *y_given, int n)
{
	int changed = 0;

	if (n == 0)
		return 0.0;
	for (int i = 0; i < n; i++)
		changed += y_true[i] != y_given[i];
	return (double)changed / n;
}
