/* Private to the session commands (cmd_session.c) and the recorder
 * (session_record.c): the recorder's state and the helpers both use. */
#ifndef TP_SESSION_RECORD_H
#define TP_SESSION_RECORD_H

#include "commands.h"
#include "store.h"
#include "workbench.h"

typedef struct recorder {
	char *path;              /* absolute path of the store; NULL: recording is off */
	store *db;               /* NULL until the store is opened */
	int broken;              /* the store could not be used; nothing is recorded */
	char broken_reason[768];
	int announce;            /* print the session's name when recording begins */
	long session;            /* the session being recorded; 0 until the first record */
	char *origin;            /* origin written into the next new session, or NULL */
	long run;                /* store id of wb->run; 0 when not recorded yet */
	const trainer *run_ptr;  /* the trainer that run belongs to */
	const dataset *data_ptr; /* the data set last written to the session row */
	long checkpoint_steps;   /* optimiser steps of the run at its last checkpoint */
} recorder;

extern recorder rec;

/* Returns the open store, opening it on first use (creating the file when
 * create is 1); NULL when recording is off, the store is broken, or the
 * file does not exist and create is 0. */
store *rec_store(int create);

/* Like rec_store(), but explains with tp_fail() why there is no store,
 * starting the message with what. */
tp_status rec_need_store(const char *what, int create, store **out);

/* Records a finished run that did not go through the workbench (a sweep's):
 * a run row with its noise and configuration, its epochs, then closed.
 * data is the data set it trained on.  Does nothing when recording is off. */
tp_status rec_record_finished_run(const dataset *data, const trainer *t, const int *given,
				  noise_kind noise, double rate, unsigned long seed,
				  const train_config *config);

/* Returns 1 for the commands that advance or reset a run (train, step,
 * reset, gmm init, gmm step, gmm fit): a checkpoint replaces them on open. */
int rec_is_run_command(const command *c);

/* Re-executes into fresh the successful commands of a journal that define
 * the data, the noise, the method and the settings (all but the run
 * commands), in the folder they first ran in, printing each one.  The
 * error names the command that failed, starting with what. */
tp_status rec_rebuild(workbench *fresh, const store_command *cmds, int n, const char *folder,
		      const char *what);

/* Frees the content of wb and moves fresh into it, keeping wb's observers.
 * The recorder then has no run and no data set recorded. */
void rec_replace_workbench(workbench *wb, workbench *fresh);

/* Changes to folder ("" or a missing folder: stays, with a note) and
 * returns a descriptor of the previous folder for rec_leave_folder(). */
int rec_enter_folder(const char *folder);
void rec_leave_folder(int saved);

#endif
