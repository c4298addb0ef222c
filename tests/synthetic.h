/* Separable synthetic data for the unit tests: class c of C sits around the
 * unit vector e_c of R^D, with uniform jitter of the given width on every
 * coordinate, and every row is L2-normalised like the loaders' features.
 * Samples cycle through the classes (sample i has class i mod C). */
#ifndef TP_TESTS_SYNTHETIC_H
#define TP_TESTS_SYNTHETIC_H

#include <math.h>

#include "dataset.h"

/* A linear congruential generator: reproducible on every platform. */
static inline double synthetic_uniform(unsigned *state)
{
	*state = *state * 1103515245u + 12345u;
	return ((*state >> 8) & 0xffffff) / (double)0x1000000;
}

/* Fills x (n, dim) and y (n) with samples of n_classes classes. */
static inline void synthetic_samples(float *x, int *y, int n, int n_classes, int dim,
				     double jitter, unsigned *state)
{
	for (int i = 0; i < n; i++) {
		double norm = 0.0;

		y[i] = i % n_classes;
		for (int j = 0; j < dim; j++) {
			x[i * dim + j] = (float)(jitter * (synthetic_uniform(state) - 0.5) + (j == y[i]));
			norm += x[i * dim + j] * x[i * dim + j];
		}
		for (int j = 0; j < dim; j++)
			x[i * dim + j] = (float)(x[i * dim + j] / sqrt(norm));
	}
}

/* Fills the caller's arrays with a training and a test set drawn from one
 * generator seeded with seed, and points d at them (no class names). */
static inline void synthetic_dataset(dataset *d, int n_classes, int dim, double jitter, unsigned seed,
				     float *x_train, int *y_train, int *index_map, int n_train,
				     float *x_test, int *y_test, int n_test)
{
	synthetic_samples(x_train, y_train, n_train, n_classes, dim, jitter, &seed);
	synthetic_samples(x_test, y_test, n_test, n_classes, dim, jitter, &seed);
	for (int i = 0; i < n_train; i++)
		index_map[i] = i;
	d->name = "synthetic";
	d->n_classes = n_classes;
	d->dim = dim;
	d->n_train = n_train;
	d->x_train = x_train;
	d->y_train = y_train;
	d->train_index = index_map;
	d->n_test = n_test;
	d->x_test = x_test;
	d->y_test = y_test;
}

#endif
