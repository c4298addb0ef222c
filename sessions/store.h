/* The session store: one SQLite file that records what a user does, so that
 * a session can be opened again, continued, replayed and compared.
 *
 * The file is recognised by PRAGMA application_id = STORE_APPLICATION_ID
 * ("TPSS") and versioned by PRAGMA user_version = store_schema_version().
 * Tables of schema version 1:
 *
 *   sessions      id, name (unique), created, updated (local time
 *                 "YYYY-MM-DD HH:MM:SS"), folder (the working folder its
 *                 commands ran in), origin ("" or "replay of NAME"), and the
 *                 data set it loaded last: data_name, data_checksum,
 *                 n_train, n_test, n_classes, dim
 *   journal       (session_id, seq) the commands that change state, in
 *                 order: time, line (the words joined and quoted for
 *                 display), words (blob: each word followed by a NUL byte),
 *                 status (a tp_status), message (the error text, "" on
 *                 success), epochs_after (epochs the run had done after the
 *                 command, -1 without a run)
 *   runs          id, session_id, created, one run from its creation to its
 *                 reset: data_name, data_checksum, labels_checksum (of the
 *                 given labels), sizes, noise, noise_rate, noise_seed,
 *                 method, epochs_planned, epochs_done, closed (1 once the
 *                 run was dropped; a closed run cannot be continued)
 *   run_settings  (run_id, key, value) every training setting, named as
 *                 `set` names it and updated at each checkpoint
 *   epochs        (run_id, epoch) the metrics of every finished epoch; NaN
 *                 values (head B of one-head runs) are stored as NULL
 *   gmm_states    (run_id, epoch, head) each head's GMM at the end of the
 *                 epoch and the quality of its split against the truth
 *   checkpoints   run_id, epoch, in_epoch, step, time, params_checksum and
 *                 state: the latest train_state_save() bytes of the run
 *
 * Checksums are 64-bit hashes written as 16 hexadecimal digits.  The data
 * set is stored by reference (its name and checksum), never copied.
 *
 * Opening checks the application id, the schema version and PRAGMA
 * quick_check before anything is written, so a file that is not a store,
 * comes from a newer twinprompt or is corrupt is reported and left as it is.
 * The store runs in WAL mode with synchronous=FULL; every write is one
 * BEGIN IMMEDIATE transaction that waits up to STORE_BUSY_MS for another
 * process holding the file, so two instances can share it. */
#ifndef TP_STORE_H
#define TP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "noise.h"
#include "status.h"
#include "train.h"

/* "TPSS" as a big-endian 32-bit integer. */
#define STORE_APPLICATION_ID 0x54505353
/* How long a write waits for another process's transaction, in ms. */
#define STORE_BUSY_MS 15000
/* Maximum length of a session name. */
#define STORE_NAME_MAX 64

typedef struct store store;

/* Version of the store's schema this build writes and reads. */
int store_schema_version(void);

/* Opens the store at path.  A missing file is created when create is 1 and
 * fails with TP_ERR_IO otherwise.  Fails with TP_ERR_FORMAT, leaving the
 * file untouched, when it is not a twinprompt store, is corrupt or has a
 * schema this build cannot read, and with TP_ERR_IO when it is read-only.
 * Free with store_close(). */
tp_status store_open(const char *path, int create, store **out);
void store_close(store *s);
const char *store_path(const store *s);

/* Groups writes into one transaction.  Calls nest: only the outermost
 * store_commit() commits.  After a failed write, store_rollback() undoes
 * the whole outermost transaction. */
tp_status store_begin(store *s);
tp_status store_commit(store *s);
void store_rollback(store *s);

/* 64-bit checksums: of a data set's sizes, features, labels, class names
 * and text features; of a label array; of the parameters of a run's heads. */
uint64_t store_data_checksum(const dataset *d);
uint64_t store_labels_checksum(const int *labels, int n);
uint64_t store_params_checksum(trainer *t);

/* Formats a checksum as 16 hexadecimal digits into buf (17 bytes). */
void store_checksum_format(uint64_t sum, char buf[17]);

/* ---- sessions ---- */

typedef struct store_session {
	long id;
	char *name;
	char *created;
	char *updated;
	char *folder;
	char *origin;
	char *data_name;       /* "" before a data set was loaded */
	char *data_checksum;   /* "" likewise */
	int n_commands;        /* journal entries */
	long last_run;         /* id of the newest run, 0 when none */
} store_session;

/* Returns 1 when name can name a session: 1 to STORE_NAME_MAX letters,
 * digits, '.', '_' or '-', starting with a letter or digit. */
int store_name_valid(const char *name);

/* Creates a session and sets *id.  name NULL gives the automatic name
 * "session-ID".  Fails with TP_ERR_VALUE when the name is taken, leaving
 * *id as it was. */
tp_status store_session_create(store *s, const char *name, const char *folder,
			       const char *origin, long *id);

/* Finds a session by name; TP_ERR_VALUE when there is none.  Free the
 * strings of out with store_session_clear(). */
tp_status store_session_find(store *s, const char *name, store_session *out);
tp_status store_session_get(store *s, long id, store_session *out);
void store_session_clear(store_session *session);

/* Lists every session, oldest first; free with store_session_list_free(). */
tp_status store_session_list(store *s, store_session **out, int *n);
void store_session_list_free(store_session *list, int n);

/* Renames a session; TP_ERR_VALUE when the name is taken. */
tp_status store_session_rename(store *s, long id, const char *name);

/* Records the data set the session works on now. */
tp_status store_session_set_data(store *s, long id, const dataset *d);

/* ---- the journal ---- */

typedef struct store_command {
	long seq;
	char *time;
	char *line;            /* the words, quoted for display */
	int argc;
	char **argv;           /* (argc) the words as typed */
	int status;            /* a tp_status */
	char *message;
	int epochs_after;      /* -1 when there was no run */
} store_command;

tp_status store_journal_append(store *s, long session, int argc, char *const *argv,
			       tp_status status, const char *message, int epochs_after);

/* Reads a session's journal in order; free with store_journal_free(). */
tp_status store_journal_read(store *s, long session, store_command **out, int *n);
void store_journal_free(store_command *cmds, int n);

/* ---- runs, metrics and checkpoints ---- */

/* What defines a run when it is created. */
typedef struct store_run_spec {
	const dataset *data;
	const int *y_given;    /* (data->n_train) */
	noise_kind noise;
	double noise_rate;
	unsigned long noise_seed;
	const train_config *config;
} store_run_spec;

typedef struct store_run {
	long id;
	long session_id;
	char *session_name;
	char *created;
	char *data_name;
	char *data_checksum;
	char *labels_checksum;
	int n_train, n_test, n_classes, dim;
	char *noise;           /* "none", "sym", "sym-incl", "pair" */
	double noise_rate;
	unsigned long noise_seed;
	char *method;
	int epochs_planned;
	int epochs_done;
	int closed;
	int has_checkpoint;
	int checkpoint_epoch;
	int checkpoint_in_epoch;  /* 1: the checkpoint is inside an epoch */
	char *params_checksum;    /* of the checkpoint; "" without one */
	epoch_report last;        /* the last epoch's metrics; valid when epochs_done > 0 */
} store_run;

tp_status store_run_create(store *s, long session, const store_run_spec *spec, long *id);

/* Marks a run as dropped: it stays listed but cannot be continued. */
tp_status store_run_close(store *s, long run);

/* Reads one run; TP_ERR_VALUE when there is none.  Free with store_run_clear(). */
tp_status store_run_get(store *s, long run, store_run *out);
void store_run_clear(store_run *run);

/* Lists the runs of a session (session 0: of every session), oldest first;
 * free with store_run_list_free(). */
tp_status store_run_list(store *s, long session, store_run **out, int *n);
void store_run_list_free(store_run *runs, int n);

/* A run's settings as "key" and "value" strings, in the order of
 * train_config; free with store_settings_free(). */
typedef struct store_setting {
	char *key;
	char *value;
} store_setting;
tp_status store_run_settings(store *s, long run, store_setting **out, int *n);
void store_settings_free(store_setting *settings, int n);

/* Records the metrics and GMM states of one finished epoch. */
tp_status store_epoch_save(store *s, long run, const epoch_report *r);

/* Reads a run's epochs back as reports (seconds and samples_per_second
 * included, iteration counts of the GMMs too); free with free(). */
tp_status store_epoch_list(store *s, long run, epoch_report **out, int *n);

/* Replaces the run's checkpoint with the state of t (train_state_save())
 * and updates its epochs and settings. */
tp_status store_checkpoint_save(store *s, long run, trainer *t);

/* Reads the run's checkpoint; *state is malloc'd.  TP_ERR_STATE when the
 * run has none. */
tp_status store_checkpoint_load(store *s, long run, unsigned char **state, size_t *size);

#endif
