/* Synthetic label noise.
 *
 * Every generator is seeded, reads the true labels and writes given labels
 * into a separate array, so the truth is always kept.  The number of
 * corrupted samples is exact: round(rate * n) samples are chosen uniformly
 * without replacement (a seeded shuffle), and only those receive a new label.
 *
 *   sym       the new label is uniform over the C - 1 other classes
 *   sym-incl  the new label is uniform over all C classes, so about
 *             rate * (1 - 1/C) of the labels actually change
 *   pair      the new label is (y + 1) mod C */
#ifndef TP_NOISE_H
#define TP_NOISE_H

#include "status.h"

typedef enum {
	NOISE_NONE,
	NOISE_SYM,
	NOISE_SYM_INCL,
	NOISE_PAIR
} noise_kind;

/* Returns the command-line name of a kind ("none", "sym", "sym-incl", "pair"). */
const char *noise_kind_name(noise_kind kind);

/* Parses a kind name; returns 0 and sets *kind, or -1 when unknown. */
int noise_kind_parse(const char *name, noise_kind *kind);

/* Writes given labels into y_given (n).  rate must be in [0, 1]; C >= 2.
 * NOISE_NONE copies y_true.  Returns the number of samples chosen for
 * corruption in *n_chosen (may be NULL). */
tp_status noise_apply(noise_kind kind, double rate, unsigned long seed,
		      const int *y_true, int n, int n_classes, int *y_given,
		      int *n_chosen);

/* Counts the realised transition matrix: counts[t * C + g] is the number of
 * samples of true class t that carry given label g. */
void noise_transition(const int *y_true, const int *y_given, int n, int n_classes,
		      int *counts);

/* Fraction of samples whose given label differs from the true one. */
double noise_realised_rate(const int *y_true, const int *y_given, int n);

#endif
