#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "rng.h"

struct rng {
	gsl_rng *gen;
};

rng *rng_create(unsigned long seed)
{
	rng *r = malloc(sizeof *r);

	if (!r)
		return NULL;
	r->gen = gsl_rng_alloc(gsl_rng_mt19937);
	if (!r->gen) {
		free(r);
		return NULL;
	}
	gsl_rng_set(r->gen, seed);
	return r;
}

void rng_free(rng *r)
{
	if (!r)
		return;
	gsl_rng_free(r->gen);
	free(r);
}

double rng_gaussian(rng *r, double sd)
{
	return gsl_ran_gaussian(r->gen, sd);
}

double rng_uniform_pos(rng *r)
{
	return gsl_rng_uniform_pos(r->gen);
}

unsigned long rng_uniform_int(rng *r, unsigned long n)
{
	return gsl_rng_uniform_int(r->gen, n);
}

void rng_shuffle_int(rng *r, int *a, size_t n)
{
	/* gsl_ran_shuffle fails on an empty array */
	if (n < 2)
		return;
	gsl_ran_shuffle(r->gen, a, n, sizeof *a);
}

size_t rng_state_size(const rng *r)
{
	return gsl_rng_size(r->gen);
}

void rng_state_get(const rng *r, void *buf)
{
	memcpy(buf, gsl_rng_state(r->gen), gsl_rng_size(r->gen));
}

void rng_state_set(rng *r, const void *buf)
{
	memcpy(gsl_rng_state(r->gen), buf, gsl_rng_size(r->gen));
}
