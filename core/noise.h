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
 *   pair      the new label is (y + 1) mod C
 *   idn       instance-dependent (part-dependent) noise: the new label of a
 *             chosen sample depends on its features (noise_apply_idn)
 *
 * Protocols that do not fit noise_apply() have their own functions: the
 * few-shot protocols build the training set itself (noise_fewshot), a
 * transition matrix draws every label (noise_apply_matrix), and real noise
 * comes as a file of given labels (read by the caller). */
#ifndef TP_NOISE_H
#define TP_NOISE_H

#include "status.h"

typedef enum {
	NOISE_NONE,
	NOISE_SYM,
	NOISE_SYM_INCL,
	NOISE_PAIR,
	NOISE_FEWSHOT_SYM,
	NOISE_FEWSHOT_PAIR,
	NOISE_MATRIX,
	NOISE_LABELS,
	NOISE_IDN
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

/* The few-shot protocol of PTNL and JoAPR: for every class c, K training
 * samples labelled c, of which exactly n_false are images of other classes.
 * The K - n_false true shots of every class are drawn first.  The false ones
 * come uniformly from the images of other classes not yet used
 * (NOISE_FEWSHOT_SYM) or from the unused images of class (c + 1) mod C
 * (NOISE_FEWSHOT_PAIR).  Writes C * K rows of the pool into rows and their
 * given labels into given, class by class.  Fails, naming the class, when
 * the pool has too few images. */
tp_status noise_fewshot(noise_kind kind, int shots, int n_false, unsigned long seed,
			const int *y_true, int n, int n_classes, int *rows, int *given);

/* Draws each given label from row y_true[i] of the transition matrix
 * (C, C); rows must be non-negative and sum to 1 within 1e-6. */
tp_status noise_apply_matrix(const double *matrix, unsigned long seed, const int *y_true,
			     int n, int n_classes, int *y_given);

/* Reads a C x C transition matrix from a text file: C lines of C numbers
 * separated by spaces, tabs or commas.  *matrix is malloc'd. */
tp_status noise_read_matrix(const char *path, int n_classes, double **matrix);

/* Instance-dependent noise in the manner of the part-dependent scheme of
 * Xia et al. (NeurIPS 2020): every sample gets a flip rate q_i from a normal
 * distribution with mean rate and standard deviation 0.1 truncated to
 * [0, 1], and C random projections W_y (D, C) with N(0, 1) entries give
 * its flip distribution softmax(x_i W_y) over the classes other than y.
 * Exactly round(rate * n) samples are chosen, with probability proportional
 * to q_i (weighted sampling without replacement), and each gets a label
 * drawn from its flip distribution, so the realised rate is exact.  x (n, D)
 * are the training features. */
tp_status noise_apply_idn(double rate, unsigned long seed, const float *x, int dim,
			  const int *y_true, int n, int n_classes, int *y_given, int *n_chosen);

/* Counts the realised transition matrix: counts[t * C + g] is the number of
 * samples of true class t that carry given label g. */
void noise_transition(const int *y_true, const int *y_given, int n, int n_classes,
		      int *counts);

/* Fraction of samples whose given label differs from the true one. */
double noise_realised_rate(const int *y_true, const int *y_given, int n);

#endif
