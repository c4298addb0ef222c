/* Seeded random numbers for the core, backed by GSL's mt19937.
 *
 * GSL's gsl_randist.h pulls in GSL's own CBLAS declarations, which clash
 * with OpenBLAS's cblas.h in one translation unit; files that call CBLAS use
 * these wrappers instead of including GSL's headers. */
#ifndef TP_RNG_H
#define TP_RNG_H

#include <stddef.h>

typedef struct rng rng;

/* Returns a generator seeded with seed, or NULL when out of memory. */
rng *rng_create(unsigned long seed);
void rng_free(rng *r);

/* A normal deviate with mean 0 and standard deviation sd. */
double rng_gaussian(rng *r, double sd);

/* A double uniform on (0, 1), never 0 or 1. */
double rng_uniform_pos(rng *r);

/* An integer uniform on 0..n-1, n >= 1. */
unsigned long rng_uniform_int(rng *r, unsigned long n);

/* Shuffles a (n) in place. */
void rng_shuffle_int(rng *r, int *a, size_t n);

/* The generator's state as bytes, for saving a run: rng_state_size()
 * bytes written by rng_state_get() and read back by rng_state_set(). */
size_t rng_state_size(const rng *r);
void rng_state_get(const rng *r, void *buf);
void rng_state_set(rng *r, const void *buf);

#endif
