/* Sweeps: a grid of runs (noise kinds and rates x methods x selectors x
 * seeds) trained one after another, and the table a paper prints.
 *
 * Every finished run is appended to a runs file (CSV) at once, so an
 * interrupted sweep continues where it stopped: sweep_run() skips the grid
 * points the file already holds.  The table has one row per method (and
 * selector, for the methods that use one) and one column per noise kind and
 * rate; a cell is the mean and sample standard deviation over seeds of the
 * final test accuracy (the ensemble for twin, head A otherwise) and of head
 * A's split F1.
 *
 * Runs file layout, one header line then one line per run:
 *   noise,rate,method,selector,seed,epochs,accuracy,f1,seconds */
#ifndef TP_SWEEP_H
#define TP_SWEEP_H

#include <stdio.h>

#include "dataset.h"
#include "noise.h"
#include "status.h"
#include "train.h"

#define SWEEP_MAX_ITEMS 32

typedef struct sweep_noise {
	noise_kind kind;        /* sym, sym-incl, pair or idn */
	double rate;
} sweep_noise;

typedef struct sweep_grid {
	int n_noise;
	sweep_noise noise[SWEEP_MAX_ITEMS];
	int n_methods;
	train_method methods[SWEEP_MAX_ITEMS];
	int n_selectors;
	int selectors[SWEEP_MAX_ITEMS];    /* selector_kind, for twin and single */
	int n_seeds;
	unsigned long seeds[SWEEP_MAX_ITEMS];
} sweep_grid;

/* Parses a noise list such as "sym:0.2,0.5 pair:0.4" into the grid. */
tp_status sweep_parse_noise(sweep_grid *g, const char *spec);
/* Parses "ce,gce,twin". */
tp_status sweep_parse_methods(sweep_grid *g, const char *list);
/* Parses "gmm,joapr". */
tp_status sweep_parse_selectors(sweep_grid *g, const char *list);
/* Parses "1,2,3". */
tp_status sweep_parse_seeds(sweep_grid *g, const char *list);

/* Reads a grid file: lines "noise SPEC", "methods LIST", "selectors LIST",
 * "seeds LIST" and "epochs E" (*epochs is left alone without one); '#'
 * starts a comment.  Lines set only what they name. */
tp_status sweep_read_file(sweep_grid *g, const char *path, int *epochs);

/* One finished run. */
typedef struct sweep_result {
	sweep_noise noise;
	train_method method;
	int selector;           /* -1 for methods without a selector */
	unsigned long seed;
	int epochs;
	double accuracy;
	double f1;
	double seconds;
} sweep_result;

/* Number of runs in the grid (selectors multiply only twin and single). */
int sweep_count(const sweep_grid *g);

typedef struct sweep_hooks {
	/* Before each run: its position (0-based), the total, and what it is. */
	void (*on_start)(int index, int total, const sweep_result *what, void *user);
	/* After each run, skipped ones included (skipped = 1). */
	void (*on_done)(int index, int total, const sweep_result *r, int skipped, void *user);
	/* Passed to the trainer: nonzero stops the sweep at a batch boundary. */
	int (*should_stop)(void *user);
	/* After each trained run, before its trainer is freed: the run, its
	 * given labels and its configuration, for recording it elsewhere. */
	void (*on_trained)(const sweep_result *r, const trainer *t, const int *given,
			   const train_config *config, void *user);
	void *user;
} sweep_hooks;

/* Runs every grid point not yet in runs_path on data (its true labels are
 * the truth), each with the configuration base whose method, selector,
 * seed and epochs are set per run.  Returns TP_ERR_INTERRUPTED when the stop
 * hook asked (the finished runs are in the file). */
tp_status sweep_run(const dataset *data, const train_config *base, int epochs,
		    const sweep_grid *g, const char *runs_path, const sweep_hooks *hooks);

/* Reads every result of a runs file; *results is malloc'd. */
tp_status sweep_read_runs(const char *path, sweep_result **results, int *n);

/* Writes the table of the results that match the grid as CSV (one line per
 * row and noise: row,noise,rate,n,acc_mean,acc_std,f1_mean,f1_std) and as
 * Markdown (accuracy table, then F1 table).  Either path may be NULL. */
tp_status sweep_write_table(const sweep_grid *g, int epochs, const sweep_result *results, int n,
			    const char *csv_path, const char *md_path);

/* Writes the two Markdown tables (accuracy, then F1) to f. */
void sweep_write_markdown(FILE *f, const sweep_grid *g, int epochs, const sweep_result *results, int n);

/* Mean and sample standard deviation (NAN when n < 2) of the matching runs'
 * accuracy and F1 for one table cell; returns the number of runs. */
int sweep_cell(const sweep_result *results, int n, train_method method, int selector,
	       sweep_noise noise, int epochs, double *acc_mean, double *acc_std,
	       double *f1_mean, double *f1_std);

#endif
