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
	char method[16];
	char noise[48];
	int epochs;
	double test_acc[3];
	split_quality split[2];
	int n_heads;
	double seconds;
} run_result;

typedef struct workbench {
	dataset *data;
	int *y_given;            /* (n_train) current given labels */
	noise_kind noise;
	double noise_rate;
	unsigned long noise_seed;
	int noise_chosen;        /* samples chosen for corruption */
	train_config config;
	trainer *run;            /* NULL until first needed */
	run_result *results;
	int n_results;
	int verbose;             /* print the GMM of each head after every epoch */
} workbench;

void wb_init(workbench *wb);
void wb_free(workbench *wb);

/* Takes ownership of d, clears the noise and drops the run. */
tp_status wb_set_data(workbench *wb, dataset *d);

/* Drops the run; prints nothing. Returns 1 if a run with epochs existed. */
int wb_drop_run(workbench *wb);

/* Creates the run if there is none. */
tp_status wb_ensure_run(workbench *wb);

/* Adds the final figures of the current run to the results table. */
void wb_record_result(workbench *wb, double seconds);

#endif
