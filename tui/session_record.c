/* The session recorder: the workbench observer that writes commands,
 * epochs and checkpoints to the session store, and the rebuilding of a
 * workbench from a recorded journal (for `open` and `replay`). */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd_session.h"
#include "commands.h"
#include "output.h"
#include "session_record.h"

recorder rec;

/* ---- the store ---- */

store *rec_store(int create)
{
	struct stat sb;

	if (rec.db)
		return rec.db;
	if (!rec.path || rec.broken)
		return NULL;
	if (!create && stat(rec.path, &sb) != 0)
		return NULL;
	if (store_open(rec.path, 1, &rec.db) != TP_OK) {
		rec.broken = 1;
		snprintf(rec.broken_reason, sizeof rec.broken_reason, "%s", tp_last_error());
		out_error("%s; twinprompt goes on without recording this session", rec.broken_reason);
		return NULL;
	}
	return rec.db;
}

tp_status rec_need_store(const char *what, int create, store **out)
{
	*out = NULL;
	if (!rec.path)
		return tp_fail(TP_ERR_STATE, "%s: sessions are not recorded (--no-store): start twinprompt with --store FILE",
			       what);
	*out = rec_store(create);
	if (*out)
		return TP_OK;
	if (rec.broken)
		return tp_fail(TP_ERR_STATE, "%s: the session store cannot be used: %s", what, rec.broken_reason);
	return tp_fail(TP_ERR_STATE, "%s: the session store '%s' does not exist yet: it is created by the first command that changes state",
		       what, rec.path);
}

/* ---- recording ---- */

static tp_status rec_ensure_session(store *s)
{
	char folder[4096];
	store_session info;
	tp_status st;

	if (rec.session)
		return TP_OK;
	if (!getcwd(folder, sizeof folder))
		folder[0] = '\0';
	st = store_session_create(s, NULL, folder, rec.origin, &rec.session);
	if (st != TP_OK)
		return st;
	if (rec.announce && store_session_get(s, rec.session, &info) == TP_OK) {
		out_printf("recording this session as '%s' in %s ('save NAME' renames it)\n",
			   info.name, rec.path);
		store_session_clear(&info);
	}
	return TP_OK;
}

/* Records the data set when it changed since the last record. */
static tp_status rec_ensure_data(const workbench *wb, store *s)
{
	tp_status st;

	if (!wb->data || wb->data == rec.data_ptr)
		return TP_OK;
	st = store_session_set_data(s, rec.session, wb->data);
	if (st == TP_OK)
		rec.data_ptr = wb->data;
	return st;
}

tp_status rec_record_finished_run(const dataset *data, const trainer *t, const int *given,
				  noise_kind noise, double rate, unsigned long seed,
				  const train_config *config)
{
	store *s = rec_store(1);
	store_run_spec spec;
	const epoch_report *h;
	long run = 0;
	int n;
	tp_status st;

	if (!s)
		return TP_OK;
	spec.data = data;
	spec.y_given = given;
	spec.noise = noise;
	spec.noise_rate = rate;
	spec.noise_seed = seed;
	spec.config = config;
	h = train_history(t, &n);
	st = store_begin(s);
	if (st == TP_OK)
		st = rec_ensure_session(s);
	if (st == TP_OK)
		st = store_run_create(s, rec.session, &spec, &run);
	for (int e = 0; e < n && st == TP_OK; e++)
		st = store_epoch_save(s, run, &h[e]);
	if (st == TP_OK)
		st = store_run_close(s, run);
	if (st == TP_OK)
		return store_commit(s);
	store_rollback(s);
	return st;
}

/* Creates the run row for wb->run the first time the run is seen. */
static tp_status rec_ensure_run(const workbench *wb, store *s)
{
	store_run_spec spec;
	tp_status st;

	if (!wb->run || (rec.run && rec.run_ptr == wb->run))
		return TP_OK;
	spec.data = wb->data;
	spec.y_given = wb->y_given;
	spec.noise = wb->noise;
	spec.noise_rate = wb->noise_rate;
	spec.noise_seed = wb->noise_seed;
	spec.config = train_config_of(wb->run);
	st = store_run_create(s, rec.session, &spec, &rec.run);
	if (st == TP_OK)
		rec.run_ptr = wb->run;
	return st;
}

/* Writes one transaction: the session, data and run rows where they are
 * new, then the journal entry (argc > 0), the epoch (r not NULL) and the
 * checkpoint.  On failure nothing is written, and the recorder drops the ids
 * of the rows that the rolled-back transaction had created. */
static tp_status rec_write(workbench *wb, store *s, int argc, char **argv, tp_status status,
			   const char *message, const epoch_report *r)
{
	recorder saved = rec;
	tp_status st = store_begin(s);

	if (st == TP_OK)
		st = rec_ensure_session(s);
	if (st == TP_OK)
		st = rec_ensure_data(wb, s);
	if (st == TP_OK && argc > 0)
		st = store_journal_append(s, rec.session, argc, argv, status, message,
					  wb->run ? train_epochs_done(wb->run) : -1);
	if (st == TP_OK && wb->run)
		st = rec_ensure_run(wb, s);
	if (st == TP_OK && r)
		st = store_epoch_save(s, rec.run, r);
	if (st == TP_OK && wb->run)
		st = store_checkpoint_save(s, rec.run, wb->run);
	if (st == TP_OK)
		st = store_commit(s);
	if (st == TP_OK && wb->run)
		rec.checkpoint_steps = train_steps_done(wb->run);
	if (st != TP_OK) {
		store_rollback(s);
		rec.session = saved.session;
		rec.run = saved.run;
		rec.run_ptr = saved.run_ptr;
		rec.data_ptr = saved.data_ptr;
	}
	return st;
}

static void on_command(workbench *wb, int argc, char **argv, unsigned flags, tp_status status, void *user)
{
	char message[1024];
	store *s;

	/* a command outside the journal (the dashboard) may have trained: its
	 * batches get a checkpoint, so quitting loses none of them */
	if (!(flags & CMD_CHANGES_STATE)) {
		if (wb->run && rec.run && rec.run_ptr == wb->run &&
		    train_steps_done(wb->run) != rec.checkpoint_steps && (s = rec_store(0)) &&
		    rec_write(wb, s, 0, NULL, TP_OK, NULL, NULL) != TP_OK)
			out_error("%s: the run's last batches were not recorded", tp_last_error());
		return;
	}
	/* keep the command's own error for the REPL to print after us */
	snprintf(message, sizeof message, "%s", status == TP_OK ? "" : tp_last_error());
	s = rec_store(1);
	if (s && rec_write(wb, s, argc, argv, status, message, NULL) != TP_OK)
		out_error("%s: the command was not recorded", tp_last_error());
	if (status != TP_OK)
		tp_fail(status, "%s", message);
}

static void on_epoch(workbench *wb, const epoch_report *r, void *user)
{
	store *s = rec_store(1);

	if (s && rec_write(wb, s, 0, NULL, TP_OK, NULL, r) != TP_OK)
		out_error("%s: epoch %d was not recorded", tp_last_error(), r->epoch);
}

static void on_run_reset(workbench *wb, void *user)
{
	if (rec.run && rec.db && store_run_close(rec.db, rec.run) != TP_OK)
		out_error("%s", tp_last_error());
	rec.run = 0;
	rec.run_ptr = NULL;
}

int session_start(workbench *wb, const char *path, int announce)
{
	static const wb_observer observer = { on_command, on_epoch, on_run_reset, NULL };
	struct stat sb;

	memset(&rec, 0, sizeof rec);
	rec.announce = announce;
	if (!path)
		return 0;
	/* the path is made absolute because open and replay change the
	 * working folder while the store is open */
	if (path[0] != '/') {
		char folder[4096];

		if (getcwd(folder, sizeof folder))
			rec.path = malloc(strlen(folder) + strlen(path) + 2);
		if (rec.path)
			sprintf(rec.path, "%s/%s", folder, path);
	} else {
		rec.path = strdup(path);
	}
	if (!rec.path) {
		out_error("store: out of memory for the path '%s'; twinprompt goes on without recording this session", path);
		return -1;
	}
	if (wb_add_observer(wb, &observer) != 0) {
		out_error("store: no room for another workbench observer; twinprompt goes on without recording this session");
		free(rec.path);
		rec.path = NULL;
		return -1;
	}
	/* an existing file is checked now, a new one made at the first record */
	if (stat(rec.path, &sb) == 0 && !rec_store(0))
		return -1;
	return 0;
}

void session_stop(void)
{
	store_close(rec.db);
	free(rec.path);
	free(rec.origin);
	memset(&rec, 0, sizeof rec);
}

/* ---- rebuilding a workbench from a journal ---- */

int rec_is_run_command(const command *c)
{
	/* NOTE: "step" (the dashboard's group) is matched by name because its
	 * exec function is private; a new command that trains needs a line here */
	return c->exec == cmd_train || c->exec == cmd_reset || c->exec == cmd_gmm_init ||
	       c->exec == cmd_gmm_step || c->exec == cmd_gmm_fit || strcmp(c->name, "step") == 0;
}

void rec_replace_workbench(workbench *wb, workbench *fresh)
{
	wb_observer observers[WB_MAX_OBSERVERS];
	int n = wb->n_observers;

	/* other observers (the dashboard) hear that the run went away; ours
	 * must not, because it would mark the run as not continuable */
	if (wb->run)
		for (int i = 0; i < n; i++)
			if (wb->observers[i].on_run_reset && wb->observers[i].on_run_reset != on_run_reset)
				wb->observers[i].on_run_reset(wb, wb->observers[i].user);
	memcpy(observers, wb->observers, sizeof observers);
	wb_free(wb);
	*wb = *fresh;
	memcpy(wb->observers, observers, sizeof observers);
	wb->n_observers = n;
	rec.run = 0;
	rec.run_ptr = NULL;
	rec.data_ptr = NULL;
}

int rec_enter_folder(const char *folder)
{
	int saved = open(".", O_RDONLY | O_DIRECTORY);

	if (folder[0] && chdir(folder) != 0)
		out_printf("note: the session's folder '%s' is gone; its commands run in the current folder\n",
			   folder);
	return saved;
}

void rec_leave_folder(int saved)
{
	if (saved < 0)
		return;
	if (fchdir(saved) != 0)
		out_error("could not return to the previous working folder: relative paths now start from the session's folder");
	close(saved);
}

tp_status rec_rebuild(workbench *fresh, const store_command *cmds, int n, const char *folder,
		      const char *what)
{
	int saved = rec_enter_folder(folder);
	tp_status st = TP_OK;

	for (int i = 0; i < n && st == TP_OK; i++) {
		const command *c;
		int used;

		if (cmds[i].status != TP_OK || cmds[i].argc == 0)
			continue;
		c = command_find(cmds[i].argc, cmds[i].argv, &used);
		if (!c) {
			st = tp_fail(TP_ERR_STATE, "%s: command %ld '%s' is unknown to this twinprompt: open the session with the version that recorded it",
				     what, cmds[i].seq, cmds[i].line);
			break;
		}
		if (rec_is_run_command(c))
			continue;
		out_printf("  > %s\n", cmds[i].line);
		st = command_execute(fresh, cmds[i].argc, cmds[i].argv);
		if (st != TP_OK) {
			char cause[1024];

			snprintf(cause, sizeof cause, "%s", tp_last_error());
			st = tp_fail(st, "%s: re-running command %ld '%s' failed: %s", what, cmds[i].seq,
				     cmds[i].line, cause);
		}
	}
	rec_leave_folder(saved);
	return st;
}
