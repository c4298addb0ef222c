#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "noise.h"
#include "rng.h"

static const char *const kind_names[] = {
	"none", "sym", "sym-incl", "pair", "fewshot-sym", "fewshot-pair", "matrix", "labels", "idn"
};

const char *noise_kind_name(noise_kind kind)
{
	if (kind < NOISE_NONE || kind > NOISE_IDN)
		return "unknown";
	return kind_names[kind];
}

int noise_kind_parse(const char *name, noise_kind *kind)
{
	for (int k = NOISE_NONE; k <= NOISE_IDN; k++) {
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
	default:
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

	if (kind != NOISE_NONE && kind != NOISE_SYM && kind != NOISE_SYM_INCL && kind != NOISE_PAIR)
		return tp_fail(TP_ERR_VALUE, "noise: %s has its own generator", noise_kind_name(kind));
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

/* Moves `count` unused members of pool (size m) into out, chosen uniformly,
 * and marks them used; returns the number taken. */
static int take_unused(rng *gen, const int *pool, int m, int count, char *used, int *out)
{
	int *cand = malloc((size_t)(m > 0 ? m : 1) * sizeof *cand);
	int k = 0, taken = 0;

	if (!cand)
		return -1;
	for (int j = 0; j < m; j++)
		if (!used[pool[j]])
			cand[k++] = pool[j];
	rng_shuffle_int(gen, cand, (size_t)k);
	for (int j = 0; j < k && taken < count; j++) {
		out[taken++] = cand[j];
		used[cand[j]] = 1;
	}
	free(cand);
	return taken;
}

tp_status noise_fewshot(noise_kind kind, int shots, int n_false, unsigned long seed,
			const int *y_true, int n, int n_classes, int *rows, int *given)
{
	int *pool = malloc((size_t)n * sizeof *pool);
	char *used = calloc((size_t)n, 1);
	rng *gen = rng_create(seed);
	tp_status st = TP_OK;

	if (kind != NOISE_FEWSHOT_SYM && kind != NOISE_FEWSHOT_PAIR)
		st = tp_fail(TP_ERR_VALUE, "noise: %s is not a few-shot protocol", noise_kind_name(kind));
	else if (shots < 1 || n_false < 0 || n_false > shots)
		st = tp_fail(TP_ERR_VALUE, "noise %s: %d false shots of %d: give FP from 0 to K",
			     noise_kind_name(kind), n_false, shots);
	else if (!pool || !used || !gen)
		st = tp_fail(TP_ERR_NOMEM, "noise: out of memory for %d samples", n);

	/* the true shots of every class first, so false shots never reuse them */
	for (int c = 0; c < n_classes && st == TP_OK; c++) {
		int m = 0;

		for (int i = 0; i < n; i++)
			if (y_true[i] == c)
				pool[m++] = i;
		if (take_unused(gen, pool, m, shots - n_false, used, rows + (size_t)c * shots) != shots - n_false)
			st = tp_fail(TP_ERR_VALUE, "noise %s: class %d has %d images, fewer than the %d true shots asked for",
				     noise_kind_name(kind), c, m, shots - n_false);
	}
	for (int c = 0; c < n_classes && st == TP_OK; c++) {
		int source = (c + 1) % n_classes;
		int m = 0;

		for (int i = 0; i < n; i++)
			if (kind == NOISE_FEWSHOT_SYM ? y_true[i] != c : y_true[i] == source)
				pool[m++] = i;
		if (take_unused(gen, pool, m, n_false, used, rows + (size_t)c * shots + shots - n_false) != n_false)
			st = tp_fail(TP_ERR_VALUE, "noise %s: too few unused images for %d false shots of class %d",
				     noise_kind_name(kind), n_false, c);
		for (int j = 0; j < shots; j++)
			given[(size_t)c * shots + j] = c;
	}
	free(pool);
	free(used);
	rng_free(gen);
	return st;
}

tp_status noise_apply_matrix(const double *matrix, unsigned long seed, const int *y_true,
			     int n, int n_classes, int *y_given)
{
	rng *gen;

	for (int t = 0; t < n_classes; t++) {
		double sum = 0.0;

		for (int g = 0; g < n_classes; g++) {
			double v = matrix[t * n_classes + g];

			if (!(v >= 0.0) || !isfinite(v))
				return tp_fail(TP_ERR_VALUE, "noise matrix: entry (%d, %d) is %g: give probabilities in [0, 1]",
					       t, g, v);
			sum += v;
		}
		if (fabs(sum - 1.0) > 1e-6)
			return tp_fail(TP_ERR_VALUE, "noise matrix: row %d sums to %.9g: each row must sum to 1", t, sum);
	}
	gen = rng_create(seed);
	if (!gen)
		return tp_fail(TP_ERR_NOMEM, "noise matrix: out of memory");
	for (int i = 0; i < n; i++) {
		const double *row = matrix + (size_t)y_true[i] * n_classes;
		double u = rng_uniform_pos(gen), acc = 0.0;
		int g = n_classes - 1;

		for (int c = 0; c < n_classes; c++) {
			acc += row[c];
			if (u < acc) {
				g = c;
				break;
			}
		}
		/* rounding can leave u above the last cumulative sum: take the last nonzero entry */
		while (row[g] == 0.0 && g > 0)
			g--;
		y_given[i] = g;
	}
	rng_free(gen);
	return TP_OK;
}

tp_status noise_read_matrix(const char *path, int n_classes, double **matrix)
{
	FILE *f = fopen(path, "r");
	double *m;
	char *line = NULL;
	size_t cap = 0;
	int row = 0, lineno = 0;
	tp_status st = TP_OK;

	*matrix = NULL;
	if (!f)
		return tp_fail(TP_ERR_IO, "noise matrix: cannot open '%s': %s", path, strerror(errno));
	m = malloc((size_t)n_classes * (size_t)n_classes * sizeof *m);
	if (!m) {
		fclose(f);
		return tp_fail(TP_ERR_NOMEM, "noise matrix: out of memory");
	}
	while (st == TP_OK && getline(&line, &cap, f) >= 0) {
		char *p = line;
		int col = 0;

		lineno++;
		if (line[strspn(line, " \t\r\n")] == '\0' || line[strspn(line, " \t")] == '#')
			continue;
		if (row == n_classes) {
			st = tp_fail(TP_ERR_SHAPE, "noise matrix: '%s' line %d: more than %d rows: give a %d x %d matrix",
				     path, lineno, n_classes, n_classes, n_classes);
			break;
		}
		for (;;) {
			char *end;
			double v;

			p += strspn(p, " \t,\r\n");
			if (*p == '\0')
				break;
			errno = 0;
			v = strtod(p, &end);
			if (end == p || errno == ERANGE) {
				st = tp_fail(TP_ERR_FORMAT, "noise matrix: '%s' line %d: '%.*s' is not a number",
					     path, lineno, (int)strcspn(p, " \t,\r\n"), p);
				break;
			}
			if (col < n_classes)
				m[row * n_classes + col] = v;
			col++;
			p = end;
		}
		if (st == TP_OK && col != n_classes)
			st = tp_fail(TP_ERR_SHAPE, "noise matrix: '%s' line %d has %d numbers: the data set has %d classes",
				     path, lineno, col, n_classes);
		row++;
	}
	if (st == TP_OK && row != n_classes)
		st = tp_fail(TP_ERR_SHAPE, "noise matrix: '%s' has %d rows: give a %d x %d matrix",
			     path, row, n_classes, n_classes);
	free(line);
	fclose(f);
	if (st != TP_OK) {
		free(m);
		return st;
	}
	*matrix = m;
	return TP_OK;
}

/* A normal deviate with mean mu and standard deviation sd, truncated to [0, 1]. */
static double truncated_normal01(rng *gen, double mu, double sd)
{
	for (int attempt = 0; attempt < 1000; attempt++) {
		double v = mu + rng_gaussian(gen, sd);

		if (v >= 0.0 && v <= 1.0)
			return v;
	}
	return mu < 0.0 ? 0.0 : mu > 1.0 ? 1.0 : mu;
}

typedef struct keyed_sample {
	double key;
	int index;
} keyed_sample;

/* Descending key: the largest keys are the weighted sample. */
static int keyed_sample_cmp(const void *a, const void *b)
{
	const keyed_sample *x = a, *y = b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return x->index - y->index;
}

tp_status noise_apply_idn(double rate, unsigned long seed, const float *x, int dim,
			  const int *y_true, int n, int n_classes, int *y_given, int *n_chosen)
{
	size_t w_size = (size_t)n_classes * (size_t)dim * (size_t)n_classes;
	double *w = malloc(w_size * sizeof *w);          /* (C, D, C): W_y = w + y * D * C */
	keyed_sample *keys = malloc((size_t)(n > 0 ? n : 1) * sizeof *keys);
	double *logits = malloc((size_t)n_classes * sizeof *logits);
	rng *gen = rng_create(seed);
	int count = (int)lround(rate * n);

	if (!(rate >= 0.0 && rate <= 1.0) || !w || !keys || !logits || !gen) {
		free(w);
		free(keys);
		free(logits);
		rng_free(gen);
		if (!(rate >= 0.0 && rate <= 1.0))
			return tp_fail(TP_ERR_VALUE, "noise idn: rate %g is outside [0, 1]", rate);
		return tp_fail(TP_ERR_NOMEM, "noise idn: out of memory for %d samples", n);
	}
	for (size_t j = 0; j < w_size; j++)
		w[j] = rng_gaussian(gen, 1.0);

	/* Efraimidis-Spirakis keys u^(1/q): the count largest are a sample
	 * without replacement with probabilities proportional to q */
	for (int i = 0; i < n; i++) {
		double q = truncated_normal01(gen, rate, 0.1);

		keys[i].key = q > 0.0 ? log(rng_uniform_pos(gen)) / q : -INFINITY;
		keys[i].index = i;
	}
	qsort(keys, (size_t)n, sizeof *keys, keyed_sample_cmp);

	memcpy(y_given, y_true, (size_t)n * sizeof *y_given);
	for (int r = 0; r < count; r++) {
		int i = keys[r].index;
		int y = y_true[i];
		const double *wy = w + (size_t)y * dim * n_classes;
		double lmax = -INFINITY, sum = 0.0, u, acc = 0.0;

		for (int c = 0; c < n_classes; c++) {
			double z = 0.0;

			for (int j = 0; j < dim; j++)
				z += x[(size_t)i * dim + j] * wy[(size_t)j * n_classes + c];
			logits[c] = c == y ? -INFINITY : z;
			if (logits[c] > lmax)
				lmax = logits[c];
		}
		for (int c = 0; c < n_classes; c++) {
			logits[c] = c == y ? 0.0 : exp(logits[c] - lmax);
			sum += logits[c];
		}
		u = rng_uniform_pos(gen) * sum;
		y_given[i] = y == 0 ? 1 : 0;
		for (int c = 0; c < n_classes; c++) {
			if (c == y)
				continue;
			acc += logits[c];
			y_given[i] = c;
			if (u < acc)
				break;
		}
	}
	if (n_chosen)
		*n_chosen = count;
	free(w);
	free(keys);
	free(logits);
	rng_free(gen);
	return TP_OK;
}
