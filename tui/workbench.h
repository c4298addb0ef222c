/* The workbench: everything one REPL session works on.
 *
 * States:
 *   empty        no data set; only load, set, show config and help work
 *   data loaded  given labels equal the true ones until noise is applied
 *   run          a trainer exists; it is created on first use (train, eval,
 *                gmm) from the data, the given labels and the settings
 * Loading data, changing the noise or the method, and the settings marked
 * "new run" drop the run, so a run always matches what `show config` shows. */
#ifndef TP_WORKBENCH_H
#define TP_WORKBENCH_H

#include "dataset.h"
#include "noise.h"
#include "train.h"

/* The final figures of one finished schedule, for the `results` table. */
typedef struct run_result {
	char method[32];        /* "ce", or "twin/gmm" with the selector */
	char noise[48];
	int epochs;
	double test_acc[3];
	split_quality split[2];
	int n_heads;
	double seconds;         /* training and evaluation time summed over the epochs */
} run_result;

typedef struct workbench workbench;

/* An observer of the workbench: the session store and the dashboard
 * register one to hear about commands, epochs and runs.  Any callback may
 * be NULL. */
typedef struct wb_observer {
	/* After every executed command; flags are the command's CMD_* flags. */
	void (*on_command)(workbench *wb, int argc, char **argv, unsigned flags,
			   tp_status status, void *user);
	/* After every finished epoch of the run. */
	void (*on_epoch)(workbench *wb, const epoch_report *r, void *user);
	/* After the run was dropped (new data, noise, method or setting). */
	void (*on_run_reset)(workbench *wb, void *user);
	void *user;
} wb_observer;

#define WB_MAX_OBSERVERS 4

struct workbench {
	dataset *data;           /* the active data set: base, or the few-shot view */
	dataset *base;           /* the data set as loaded, owned */
	dataset *view;           /* training subset built by a few-shot noise protocol, owned, or NULL */
	int *y_given;            /* (n_train) current given labels */
	noise_kind noise;
	double noise_rate;
	unsigned long noise_seed;
	int noise_chosen;        /* samples chosen for corruption */
	int noise_shots;         /* few-shot protocols: K */
	int noise_false;         /* few-shot protocols: false shots per class */
	char noise_file[512];    /* matrix and labels: the file read */
	train_config config;
	trainer *run;            /* NULL until first needed */
	run_result *results;
	int n_results;
	int verbose;             /* print the GMM of each head after every epoch */
	wb_observer observers[WB_MAX_OBSERVERS];
	int n_observers;
};

void wb_init(workbench *wb);
void wb_free(workbench *wb);

/* Takes ownership of d, clears the noise and drops the run. */
tp_status wb_set_data(workbench *wb, dataset *d);

/* Makes view (owned from now on; NULL for none) the active training set with
 * the given labels copied from given (view->n_train or base->n_train
 * entries), and drops the run. */
tp_status wb_set_view(workbench *wb, dataset *view, const int *given);

/* Drops the run; prints nothing. Returns 1 if a run with epochs existed. */
int wb_drop_run(workbench *wb);

/* Creates the run if there is none. */
tp_status wb_ensure_run(workbench *wb);

/* Registers an observer; returns -1 when WB_MAX_OBSERVERS are taken. */
int wb_add_observer(workbench *wb, const wb_observer *o);

/* Tell every observer (called by the dispatcher and the trainer hooks). */
void wb_notify_command(workbench *wb, int argc, char **argv, unsigned flags, tp_status status);
void wb_notify_epoch(workbench *wb, const epoch_report *r);

/* Adds the final figures of the current run to the results table. */
void wb_record_result(workbench *wb);

#endif
