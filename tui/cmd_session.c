/* Commands of the session group: name, open, list, replay and compare the
 * sessions and runs that the recorder (session_record.c) writes to the
 * session store. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_session.h"
#include "commands.h"
#include "files.h"
#include "output.h"
#include "session_record.h"

static tp_status cmd_save(workbench *, const command *, const cmd_args *);
static tp_status cmd_open(workbench *, const command *, const cmd_args *);
static tp_status cmd_sessions(workbench *, const command *, const cmd_args *);
static tp_status cmd_history(workbench *, const command *, const cmd_args *);
static tp_status cmd_replay(workbench *, const command *, const cmd_args *);
static tp_status cmd_runs(workbench *, const command *, const cmd_args *);
static tp_status cmd_compare(workbench *, const command *, const cmd_args *);
static tp_status cmd_export_metrics(workbench *, const command *, const cmd_args *);

static const cmd_option runs_opts[] = {
	{ "session", OPT_TEXT, "NAME", "list only the runs of session NAME", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

static const cmd_option compare_opts[] = {
	{ "all", OPT_FLAG, NULL, "show every setting, not only those that differ", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

static const cmd_option export_opts[] = {
	{ "run", OPT_TEXT, "RUN", "export run RUN, or every run of session RUN (default: this session's runs)", NULL },
	{ "all", OPT_FLAG, NULL, "export every run in the store", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

const command commands_session[] = {
	{ "save", "[NAME]", "name the session being recorded, and write a checkpoint of the run",
	  "Every command that changes state and every finished epoch is saved as it happens, "
	  "so 'save' is never needed to keep work; it gives the session a NAME (letters, digits, "
	  "'.', '_' and '-', at most 64) for 'open NAME' and 'replay NAME', and checkpoints a "
	  "run stopped inside an epoch. Sessions are named session-N until saved under a name.",
	  0, 1, 0, NULL, NULL, cmd_save },
	{ "open", "NAME", "continue a recorded session where it stopped",
	  "Re-runs the session's commands that load the data, apply the noise and choose the "
	  "method and settings (the data set is read again from its files, and its checksum "
	  "must match), then restores the last checkpoint of its run: the heads, the optimiser "
	  "state, the random generators, the GMMs and the epoch in progress. 'train' then "
	  "continues the schedule exactly as if it had never stopped. Later commands are "
	  "recorded into the same session.",
	  1, 1, 0, NULL, NULL, cmd_open },
	{ "sessions", "", "list the recorded sessions: date, data set, noise, method, epochs, accuracy",
	  "The current session is marked with '*'. The figures are those of each session's "
	  "newest run.",
	  0, 0, 0, NULL, NULL, cmd_sessions },
	{ "history", "[NAME]", "show the command journal of this session or of session NAME",
	  "Lists every command that changed state, in order, with the epochs the run had done "
	  "after it and, for a command that failed, its error.",
	  0, 1, 0, NULL, NULL, cmd_history },
	{ "replay", "NAME", "re-run the journal of session NAME as a script, in a new session",
	  "Starts from an empty workbench and runs the session's successful commands in the "
	  "folder they first ran in; a 'train' runs to the epoch the original reached. The "
	  "replay is recorded as a new session, and its metrics are compared with the "
	  "original's epoch by epoch (the command fails when they differ).",
	  1, 1, 0, NULL, NULL, cmd_replay },
	{ "runs", "", "list the recorded runs of every session with their final metrics",
	  "A run lasts from its first epoch or GMM command until the data, noise, method or a "
	  "'*' setting changes, or 'reset'. State: 'finished' (schedule done), 'resumable' "
	  "('open SESSION' continues it) or 'reset' (dropped before its end).",
	  0, 0, 0, runs_opts, NULL, cmd_runs },
	{ "compare", "RUN...", "table of configuration differences and final metrics of runs",
	  "Each RUN is a run number from 'runs', or a session name for that session's newest "
	  "run (up to 8). Shows the data set, the noise and the method, the settings that "
	  "differ, the final metrics, and a checksum of the heads' parameters at the last "
	  "checkpoint: equal checksums mean the runs ended with bit-identical parameters.",
	  1, CMD_MAX_ARGS, 0, compare_opts, NULL, cmd_compare },
	{ "export metrics", "FILE.csv", "write the per-epoch metrics of runs as CSV",
	  "One row per epoch and run: run, session, data, noise, noise_rate, noise_seed, method, "
	  "seed, epoch, warmup, lr, train_loss, test_acc_a, test_acc_b, test_acc_ensemble, "
	  "target_acc, clean_used_a, clean_used_b, precision/recall/f1/auroc and the GMM means "
	  "of each head, seconds. Values missing for a run with one head are empty.",
	  1, 1, 0, export_opts, NULL, cmd_export_metrics },
	{ NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL, NULL }
};

/* ---- formatting ---- */

/* The last part of a path, which is what a features file is called. */
static const char *short_name(const char *name)
{
	const char *slash = strrchr(name, '/');

	return slash && slash[1] ? slash + 1 : name;
}

static void noise_text(const char *kind, double rate, unsigned long seed, char *buf, size_t size)
{
	if (strcmp(kind, "none") == 0)
		snprintf(buf, size, "none");
	else
		snprintf(buf, size, "%s %g s%lu", kind, rate, seed);
}

static const char *run_state(const store_run *r)
{
	if (r->epochs_done >= r->epochs_planned && !r->checkpoint_in_epoch)
		return "finished";
	if (r->closed)
		return "reset";
	return "resumable";
}

/* ---- save ---- */

static tp_status cmd_save(workbench *wb, const command *cmd, const cmd_args *a)
{
	const char *name = a->argc ? a->argv[0] : NULL;
	store_session info;
	store *s;
	tp_status st = rec_need_store("save", 1, &s);

	if (st != TP_OK)
		return st;
	if (name && !store_name_valid(name))
		return tp_fail(TP_ERR_VALUE, "save: NAME '%s' is not a session name: use 1 to %d letters, digits, '.', '_' or '-', starting with a letter or digit",
			       name, STORE_NAME_MAX);

	st = store_begin(s);
	if (st == TP_OK && !rec.session) {
		char folder[4096];

		if (!getcwd(folder, sizeof folder))
			folder[0] = '\0';
		st = store_session_create(s, name, folder, rec.origin, &rec.session);
	} else if (st == TP_OK && name) {
		st = store_session_get(s, rec.session, &info);
		if (st == TP_OK && strcmp(info.name, name) != 0)
			st = store_session_rename(s, rec.session, name);
		store_session_clear(&info);
	}
	if (st == TP_OK && wb->data && wb->data != rec.data_ptr) {
		st = store_session_set_data(s, rec.session, wb->data);
		if (st == TP_OK)
			rec.data_ptr = wb->data;
	}
	if (st == TP_OK && wb->run && rec.run && rec.run_ptr == wb->run)
		st = store_checkpoint_save(s, rec.run, wb->run);
	if (st == TP_OK)
		st = store_commit(s);
	if (st != TP_OK) {
		char cause[1024];

		store_rollback(s);
		snprintf(cause, sizeof cause, "%s", tp_last_error());
		return tp_fail(st, "save: %s%s", cause,
			       st == TP_ERR_VALUE ? ": choose another name, or 'open' that session" : "");
	}

	st = store_session_get(s, rec.session, &info);
	if (st != TP_OK)
		return st;
	out_printf("session '%s' saved in %s: %d commands", info.name, store_path(s), info.n_commands);
	if (wb->run)
		out_printf(", run at epoch %d of %d%s", train_epochs_done(wb->run), wb->config.epochs,
			   train_in_epoch(wb->run) ? " (inside the next epoch)" : "");
	out_printf(" ('open %s' continues it)\n", info.name);
	store_session_clear(&info);
	return TP_OK;
}

/* ---- open ---- */

/* Checks the rebuilt data set and given labels against the run's record,
 * creates the run and restores its checkpoint into it. */
static tp_status restore_run(workbench *fresh, store *s, const store_run *run, const char *session)
{
	char sum[17];
	unsigned char *state;
	size_t size;
	tp_status st;

	store_checksum_format(store_data_checksum(fresh->data), sum);
	if (strcmp(sum, run->data_checksum) != 0)
		return tp_fail(TP_ERR_STATE, "open: the data set '%s' has checksum %s now but run %ld was trained on %s: restore its files, or 'replay %s' to train anew",
			       fresh->data->name, sum, run->id, run->data_checksum, session);
	store_checksum_format(store_labels_checksum(fresh->y_given, fresh->data->n_train), sum);
	if (strcmp(sum, run->labels_checksum) != 0)
		return tp_fail(TP_ERR_STATE, "open: the given labels have checksum %s but run %ld was trained on %s: the noise commands of session '%s' no longer give the same labels",
			       sum, run->id, run->labels_checksum, session);

	st = wb_ensure_run(fresh);
	if (st == TP_OK)
		st = store_checkpoint_load(s, run->id, &state, &size);
	if (st != TP_OK)
		return st;
	st = train_state_restore(fresh->run, state, size);
	free(state);
	if (st != TP_OK) {
		char cause[1024];

		snprintf(cause, sizeof cause, "%s", tp_last_error());
		return tp_fail(st, "open: the checkpoint of run %ld does not fit: %s", run->id, cause);
	}
	/* the checkpoint contains the settings in force when it was written,
	 * and every `set` on a run writes a new checkpoint */
	fresh->config = *train_config_of(fresh->run);
	return TP_OK;
}

/* Reads a session and its journal, failing with a message that starts
 * with what. */
static tp_status session_load(store *s, const char *what, const char *name, store_session *info,
			      store_command **cmds, int *n)
{
	tp_status st = store_session_find(s, name, info);

	if (st == TP_OK) {
		st = store_journal_read(s, info->id, cmds, n);
		if (st != TP_OK)
			store_session_clear(info);
	}
	if (st != TP_OK) {
		char cause[1024];

		snprintf(cause, sizeof cause, "%s", tp_last_error());
		return tp_fail(st, "%s: %s", what, cause);
	}
	return TP_OK;
}

static tp_status cmd_open(workbench *wb, const command *cmd, const cmd_args *a)
{
	store_session info;
	store_command *cmds;
	store_run run;
	workbench fresh;
	int n, have_run = 0;
	store *s;
	tp_status st = rec_need_store("open", 0, &s);

	if (st != TP_OK)
		return st;
	st = session_load(s, "open", a->argv[0], &info, &cmds, &n);
	if (st != TP_OK)
		return st;
	memset(&run, 0, sizeof run);
	if (info.last_run)
		st = store_run_get(s, info.last_run, &run);

	/* build the new state apart, so that a failure keeps the current one */
	out_printf("open: rebuilding session '%s' from its journal (the data set is read again from its files)\n",
		   info.name);
	wb_init(&fresh);
	if (st == TP_OK)
		st = rec_rebuild(&fresh, cmds, n, info.folder, "open");
	if (st == TP_OK && info.data_checksum[0] && fresh.data) {
		char sum[17];

		store_checksum_format(store_data_checksum(fresh.data), sum);
		if (strcmp(sum, info.data_checksum) != 0)
			st = tp_fail(TP_ERR_STATE, "open: the data set '%s' has checksum %s now but session '%s' recorded %s: restore its files, or 'replay %s' to train anew",
				     fresh.data->name, sum, info.name, info.data_checksum, info.name);
	}
	if (st == TP_OK && info.last_run && !run.closed && run.has_checkpoint && fresh.data) {
		st = restore_run(&fresh, s, &run, info.name);
		have_run = st == TP_OK;
	}
	if (st != TP_OK) {
		wb_free(&fresh);
		goto out;
	}

	rec_replace_workbench(wb, &fresh);
	rec.session = info.id;
	rec.data_ptr = wb->data;
	if (have_run) {
		rec.run = run.id;
		rec.run_ptr = wb->run;
		rec.checkpoint_steps = train_steps_done(wb->run);
		out_printf("opened session '%s': run %ld (%s), %d of %d epochs done%s; 'train' continues it\n",
			   info.name, run.id, train_method_name(wb->config.method), train_epochs_done(wb->run),
			   wb->config.epochs, train_in_epoch(wb->run) ? " and one in progress" : "");
	} else if (info.last_run && run.closed) {
		out_printf("opened session '%s': its last run (%ld) was reset, so 'train' starts a new run\n",
			   info.name, run.id);
	} else {
		out_printf("opened session '%s': no run to continue\n", info.name);
	}
out:
	store_run_clear(&run);
	store_journal_free(cmds, n);
	store_session_clear(&info);
	return st;
}

/* ---- sessions, history, runs ---- */

static tp_status cmd_sessions(workbench *wb, const command *cmd, const cmd_args *a)
{
	store_session *list;
	int n;
	store *s;
	tp_status st = rec_need_store("sessions", 0, &s);

	if (st != TP_OK && rec.path && !rec.broken) {
		out_printf("no sessions yet in %s\n", rec.path);
		return TP_OK;
	}
	if (st != TP_OK)
		return st;
	st = store_session_list(s, &list, &n);
	if (st != TP_OK)
		return st;
	if (n == 0) {
		out_printf("no sessions yet in %s\n", store_path(s));
		store_session_list_free(list, n);
		return TP_OK;
	}
	out_printf("  %-16s %-19s %8s  %-20s %-14s %-6s %7s %7s %8s\n", "session", "updated", "commands",
		   "data", "noise", "method", "epochs", "test A", "ensemble");
	for (int i = 0; i < n && st == TP_OK; i++) {
		const store_session *ss = &list[i];
		char noise[48] = "-", method[16] = "-", epochs[24] = "-", acc[2][16] = { "-", "-" };
		store_run run;

		if (ss->last_run && (st = store_run_get(s, ss->last_run, &run)) == TP_OK) {
			noise_text(run.noise, run.noise_rate, run.noise_seed, noise, sizeof noise);
			snprintf(method, sizeof method, "%s", run.method);
			snprintf(epochs, sizeof epochs, "%d/%d", run.epochs_done, run.epochs_planned);
			if (run.epochs_done > 0) {
				out_num(acc[0], sizeof acc[0], run.last.test_acc[0], 4);
				out_num(acc[1], sizeof acc[1], run.last.test_acc[2], 4);
			}
			store_run_clear(&run);
		}
		out_printf("%c %-16s %-19s %8d  %-20.20s %-14s %-6s %7s %7s %8s\n",
			   ss->id == rec.session ? '*' : ' ', ss->name, ss->updated, ss->n_commands,
			   ss->data_name[0] ? short_name(ss->data_name) : "-", noise, method, epochs,
			   acc[0], acc[1]);
	}
	store_session_list_free(list, n);
	return st;
}

static tp_status cmd_history(workbench *wb, const command *cmd, const cmd_args *a)
{
	store_session info;
	store_command *cmds;
	int n;
	store *s;
	tp_status st;

	if (a->argc == 0 && !rec.session) {
		out_printf("nothing recorded in this session yet: commands that change state are recorded as they run\n");
		return TP_OK;
	}
	st = rec_need_store("history", 0, &s);
	if (st != TP_OK)
		return st;
	if (a->argc)
		st = session_load(s, "history", a->argv[0], &info, &cmds, &n);
	else if ((st = store_session_get(s, rec.session, &info)) == TP_OK &&
		 (st = store_journal_read(s, info.id, &cmds, &n)) != TP_OK)
		store_session_clear(&info);
	if (st != TP_OK)
		return st;
	out_printf("session '%s', started %s in %s%s%s: %d commands\n", info.name, info.created,
		   info.folder[0] ? info.folder : "an unknown folder", info.origin[0] ? ", " : "",
		   info.origin, n);
	if (n > 0)
		out_printf("  %4s  %-19s  %6s  %s\n", "#", "time", "epochs", "command");
	for (int i = 0; i < n; i++) {
		char epochs[16] = "-";

		if (cmds[i].epochs_after >= 0)
			snprintf(epochs, sizeof epochs, "%d", cmds[i].epochs_after);
		out_printf("  %4ld  %-19s  %6s  %s\n", cmds[i].seq, cmds[i].time, epochs, cmds[i].line);
		if (cmds[i].status == TP_ERR_INTERRUPTED)
			out_printf("  %4s  %-19s  %6s    (interrupted)\n", "", "", "");
		else if (cmds[i].status != TP_OK)
			out_printf("  %4s  %-19s  %6s    failed: %s\n", "", "", "", cmds[i].message);
	}
	store_journal_free(cmds, n);
	store_session_clear(&info);
	return TP_OK;
}

static void print_run_row(const store_run *r)
{
	char noise[48], epochs[24], b[4][16];

	noise_text(r->noise, r->noise_rate, r->noise_seed, noise, sizeof noise);
	snprintf(epochs, sizeof epochs, "%d/%d", r->epochs_done, r->epochs_planned);
	if (r->epochs_done > 0) {
		out_num(b[0], 16, r->last.test_acc[0], 4);
		out_num(b[1], 16, r->last.test_acc[1], 4);
		out_num(b[2], 16, r->last.test_acc[2], 4);
		out_num(b[3], 16, r->last.split[0].quality.f1, 4);
	} else {
		for (int k = 0; k < 4; k++)
			snprintf(b[k], 16, "-");
	}
	out_printf("%5ld  %-16s %-20.20s %-14s %-6s %7s %7s %7s %8s %7s  %s\n", r->id, r->session_name,
		   short_name(r->data_name), noise, r->method, epochs, b[0], b[1], b[2], b[3], run_state(r));
}

static tp_status cmd_runs(workbench *wb, const command *cmd, const cmd_args *a)
{
	const char *session = cmd_str(cmd, a, "session");
	store_session info;
	store_run *runs;
	long id = 0;
	int n;
	store *s;
	tp_status st = rec_need_store("runs", 0, &s);

	if (st != TP_OK && rec.path && !rec.broken) {
		out_printf("no runs yet in %s\n", rec.path);
		return TP_OK;
	}
	if (st != TP_OK)
		return st;
	if (session) {
		st = store_session_find(s, session, &info);
		if (st != TP_OK) {
			char cause[1024];

			snprintf(cause, sizeof cause, "%s", tp_last_error());
			return tp_fail(st, "runs: --session: %s", cause);
		}
		id = info.id;
		store_session_clear(&info);
	}
	st = store_run_list(s, id, &runs, &n);
	if (st != TP_OK)
		return st;
	if (n == 0) {
		out_printf("no runs yet%s%s: a run is recorded at its first epoch\n",
			   session ? " in session " : "", session ? session : "");
	} else {
		out_printf("%5s  %-16s %-20s %-14s %-6s %7s %7s %7s %8s %7s  %s\n", "run", "session", "data",
			   "noise", "method", "epochs", "test A", "test B", "ensemble", "F1 A", "state");
		for (int i = 0; i < n; i++)
			print_run_row(&runs[i]);
	}
	store_run_list_free(runs, n);
	return TP_OK;
}

/* ---- compare ---- */

/* Finds the run a RUN argument names: a run number, or a session name for
 * that session's newest run. */
static tp_status run_lookup(store *s, const char *what, const char *arg, store_run *out)
{
	char *end;
	long id;
	store_session info;
	tp_status st;

	errno = 0;
	id = strtol(arg, &end, 10);
	if (end != arg && *end == '\0' && errno == 0) {
		if (id < 1)
			return tp_fail(TP_ERR_VALUE, "%s: RUN is %ld: give a run number from 'runs' (1 or more)",
				       what, id);
		st = store_run_get(s, id, out);
	} else {
		st = store_session_find(s, arg, &info);
		if (st != TP_OK)
			return tp_fail(st, "%s: RUN '%s' is neither a run number nor a session name: 'runs' lists the runs",
				       what, arg);
		if (info.last_run == 0)
			st = tp_fail(TP_ERR_STATE, "session '%s' has no run yet", arg);
		else
			st = store_run_get(s, info.last_run, out);
		store_session_clear(&info);
	}
	if (st != TP_OK) {
		char cause[1024];

		snprintf(cause, sizeof cause, "%s", tp_last_error());
		return tp_fail(st, "%s: %s", what, cause);
	}
	return TP_OK;
}

#define COMPARE_MAX CMD_MAX_ARGS
#define COMPARE_WIDTH 17

static void compare_row(const char *label, char values[][48], int n)
{
	out_printf("  %-18s", label);
	for (int i = 0; i < n; i++)
		out_printf(" %-*.*s", COMPARE_WIDTH, 47, values[i]);
	out_printf("\n");
}

/* Prints the settings rows: those that differ, or all of them. */
static tp_status compare_settings(store *s, const store_run *runs, int n, int all)
{
	store_setting *set[COMPARE_MAX];
	int n_set[COMPARE_MAX], equal = 0;
	tp_status st = TP_OK;

	for (int i = 0; i < n; i++) {
		set[i] = NULL;
		n_set[i] = 0;
		if (st == TP_OK)
			st = store_run_settings(s, runs[i].id, &set[i], &n_set[i]);
	}
	for (int k = 0; st == TP_OK && k < n_set[0]; k++) {
		char values[COMPARE_MAX][48];
		int differ = 0;

		for (int i = 0; i < n; i++) {
			const char *v = "-";

			for (int j = 0; j < n_set[i]; j++)
				if (strcmp(set[i][j].key, set[0][k].key) == 0)
					v = set[i][j].value;
			snprintf(values[i], sizeof values[i], "%s", v);
			differ |= strcmp(values[i], values[0]) != 0;
		}
		if (differ || all)
			compare_row(set[0][k].key, values, n);
		else
			equal++;
	}
	if (st == TP_OK && equal)
		out_printf("  (%d other settings are equal)\n", equal);
	for (int i = 0; i < n; i++)
		store_settings_free(set[i], n_set[i]);
	return st;
}

/* The metrics rows: one per figure, from each run's last epoch. */
static void compare_metrics(const store_run *runs, int n)
{
	static const char *const labels[] = {
		"test acc A", "test acc B", "test acc ensemble", "target acc",
		"precision A", "recall A", "F1 A", "AUROC A", "F1 B", "AUROC B"
	};
	char values[COMPARE_MAX][48];

	for (int row = 0; row < 10; row++) {
		for (int i = 0; i < n; i++) {
			const epoch_report *r = &runs[i].last;
			double v[10] = {
				r->test_acc[0], r->test_acc[1], r->test_acc[2], r->target_acc,
				r->split[0].quality.precision, r->split[0].quality.recall,
				r->split[0].quality.f1, r->split[0].quality.auroc_posterior,
				r->split[1].valid ? r->split[1].quality.f1 : NAN,
				r->split[1].valid ? r->split[1].quality.auroc_posterior : NAN
			};

			out_num(values[i], sizeof values[i], runs[i].epochs_done > 0 ? v[row] : NAN, 4);
		}
		compare_row(labels[row], values, n);
	}
	for (int i = 0; i < n; i++)
		snprintf(values[i], sizeof values[i], "%s", runs[i].params_checksum[0] ? runs[i].params_checksum : "-");
	compare_row("parameters", values, n);
}

static tp_status cmd_compare(workbench *wb, const command *cmd, const cmd_args *a)
{
	store_run runs[COMPARE_MAX];
	char values[COMPARE_MAX][48];
	int n = 0;
	store *s;
	tp_status st = rec_need_store("compare", 0, &s);

	if (st != TP_OK)
		return st;
	for (int i = 0; i < a->argc && st == TP_OK; i++) {
		st = run_lookup(s, "compare", a->argv[i], &runs[i]);
		if (st == TP_OK)
			n++;
	}

	if (st == TP_OK) {
		for (int i = 0; i < n; i++)
			snprintf(values[i], sizeof values[i], "run %ld", runs[i].id);
		compare_row("", values, n);
		for (int i = 0; i < n; i++)
			snprintf(values[i], sizeof values[i], "%s", runs[i].session_name);
		compare_row("session", values, n);
		for (int i = 0; i < n; i++)
			snprintf(values[i], sizeof values[i], "%s", short_name(runs[i].data_name));
		compare_row("data", values, n);
		for (int i = 0; i < n; i++)
			snprintf(values[i], sizeof values[i], "%d/%d", runs[i].n_train, runs[i].n_test);
		compare_row("train/test", values, n);
		for (int i = 0; i < n; i++)
			noise_text(runs[i].noise, runs[i].noise_rate, runs[i].noise_seed, values[i], sizeof values[i]);
		compare_row("noise", values, n);
		for (int i = 0; i < n; i++)
			snprintf(values[i], sizeof values[i], "%s", runs[i].method);
		compare_row("method", values, n);
		st = compare_settings(s, runs, n, cmd_has(cmd, a, "all"));
	}
	if (st == TP_OK) {
		for (int i = 0; i < n; i++)
			snprintf(values[i], sizeof values[i], "%d/%d %s", runs[i].epochs_done,
				 runs[i].epochs_planned, run_state(&runs[i]));
		compare_row("epochs", values, n);
		compare_metrics(runs, n);
	}
	for (int i = 0; i < n; i++)
		store_run_clear(&runs[i]);
	return st;
}

/* ---- replay ---- */

static int same_real(double x, double y)
{
	return (isnan(x) && isnan(y)) || x == y;
}

/* Returns the name of the first figure in which two epoch reports differ,
 * or NULL when all figures except the timings are equal. */
static const char *report_difference(const epoch_report *x, const epoch_report *y)
{
	if (x->epoch != y->epoch || x->warmup != y->warmup)
		return "epoch";
	if (!same_real(x->lr, y->lr))
		return "learning rate";
	if (!same_real(x->train_loss, y->train_loss))
		return "training loss";
	for (int k = 0; k < 3; k++)
		if (!same_real(x->test_acc[k], y->test_acc[k]))
			return "test accuracy";
	if (!same_real(x->target_acc, y->target_acc))
		return "target accuracy";
	for (int k = 0; k < 2; k++) {
		const split_report *p = &x->split[k], *q = &y->split[k];

		if (x->n_clean_used[k] != y->n_clean_used[k])
			return "clean samples used";
		if (p->valid != q->valid || p->n_pred_clean != q->n_pred_clean || p->iterations != q->iterations)
			return "GMM split";
		for (int c = 0; c < 2; c++)
			if (!same_real(p->mean[c], q->mean[c]) || !same_real(p->var[c], q->var[c]) ||
			    !same_real(p->weight[c], q->weight[c]))
				return "GMM parameters";
		if (!same_real(p->loglik, q->loglik) || !same_real(p->quality.f1, q->quality.f1) ||
		    !same_real(p->quality.auroc_posterior, q->quality.auroc_posterior))
			return "split quality";
	}
	return NULL;
}

/* Compares the epochs of an original run and its replay; returns 1 when
 * they agree. */
static int replay_check_run(store *s, const store_run *orig, const store_run *copy)
{
	epoch_report *x = NULL, *y = NULL;
	int nx = 0, ny = 0, same = 0;

	if (store_epoch_list(s, orig->id, &x, &nx) != TP_OK || store_epoch_list(s, copy->id, &y, &ny) != TP_OK) {
		out_error("replay: %s", tp_last_error());
	} else if (nx != ny) {
		out_printf("replay: run %ld has %d epochs but the original run %ld has %d\n", copy->id, ny,
			   orig->id, nx);
	} else {
		int i;
		const char *what = NULL;

		for (i = 0; i < nx && !(what = report_difference(&x[i], &y[i])); i++)
			;
		if (what) {
			out_printf("replay: run %ld differs from run %ld at epoch %d in the %s\n", copy->id,
				   orig->id, x[i].epoch, what);
		} else {
			char acc[16];

			out_printf("replay: run %ld reproduces run %ld exactly: %d epochs, final test accuracy A %s\n",
				   copy->id, orig->id, nx, nx ? out_num(acc, sizeof acc, x[nx - 1].test_acc[0], 4) : "-");
			same = 1;
		}
	}
	free(x);
	free(y);
	return same;
}

/* Pairs the runs with epochs of the original session and of the replay in
 * order, and compares each pair; returns the number that differ. */
static int replay_check(store *s, long original, long replay)
{
	store_run *a = NULL, *b = NULL;
	int na = 0, nb = 0, ia = 0, ib = 0, differ = 0;

	if (store_run_list(s, original, &a, &na) != TP_OK || (replay && store_run_list(s, replay, &b, &nb) != TP_OK)) {
		out_error("replay: %s", tp_last_error());
		store_run_list_free(a, na);
		return 1;
	}
	for (;;) {
		while (ia < na && a[ia].epochs_done == 0)
			ia++;
		while (ib < nb && b[ib].epochs_done == 0)
			ib++;
		if (ia == na || ib == nb)
			break;
		differ += !replay_check_run(s, &a[ia++], &b[ib++]);
	}
	for (; ia < na; ia++)
		if (a[ia].epochs_done > 0) {
			out_printf("replay: run %ld of the original has no counterpart in the replay\n", a[ia].id);
			differ++;
		}
	store_run_list_free(a, na);
	store_run_list_free(b, nb);
	return differ;
}

/* Runs the journal's successful commands in wb; a `train` runs to the epoch
 * the original reached after it. */
static tp_status replay_commands(workbench *wb, const store_command *cmds, int n)
{
	for (int i = 0; i < n; i++) {
		char train_word[] = "train", epochs[16];
		char *argv[2] = { train_word, epochs };
		char **words = cmds[i].argv;
		int argc = cmds[i].argc, used;
		const command *c;
		tp_status st;

		if (cmds[i].status != TP_OK || argc == 0)
			continue;
		c = command_find(argc, cmds[i].argv, &used);
		if (c && c->exec == cmd_train) {
			int done = wb->run ? train_epochs_done(wb->run) : 0;

			if (cmds[i].epochs_after <= done)
				continue;
			snprintf(epochs, sizeof epochs, "%d", cmds[i].epochs_after - done);
			words = argv;
			argc = 2;
			out_printf("replay> train %s\n", epochs);
		} else {
			out_printf("replay> %s\n", cmds[i].line);
		}
		st = command_execute(wb, argc, words);
		if (st != TP_OK) {
			char cause[1024];

			snprintf(cause, sizeof cause, "%s", tp_last_error());
			return tp_fail(st, "replay: command %ld '%s' %s: %s; the workbench keeps the state up to it",
				       cmds[i].seq, cmds[i].line,
				       st == TP_ERR_INTERRUPTED ? "was interrupted" : "failed", cause);
		}
	}
	return TP_OK;
}

static tp_status cmd_replay(workbench *wb, const command *cmd, const cmd_args *a)
{
	store_session info;
	store_command *cmds;
	workbench fresh;
	char origin[STORE_NAME_MAX + 16];
	int n, saved, differ;
	store *s;
	tp_status st = rec_need_store("replay", 0, &s);

	if (st != TP_OK)
		return st;
	st = session_load(s, "replay", a->argv[0], &info, &cmds, &n);
	if (st != TP_OK)
		return st;
	out_printf("replay: re-running the %d commands of session '%s' in a new session\n", n, info.name);

	/* the current session stays as recorded; the replay gets its own */
	wb_init(&fresh);
	rec_replace_workbench(wb, &fresh);
	snprintf(origin, sizeof origin, "replay of %s", info.name);
	free(rec.origin);
	rec.origin = strdup(origin);
	rec.session = 0;

	saved = rec_enter_folder(info.folder);
	st = replay_commands(wb, cmds, n);
	rec_leave_folder(saved);
	free(rec.origin);
	rec.origin = NULL;

	if (st == TP_OK) {
		differ = replay_check(s, info.id, rec.session);
		if (differ)
			st = tp_fail(TP_ERR_STATE, "replay: %d runs of session '%s' were not reproduced", differ,
				     info.name);
	}
	store_journal_free(cmds, n);
	store_session_clear(&info);
	return st;
}

/* ---- export metrics ---- */

/* Writes ",v" with the fewest digits that read back as exactly v, or ","
 * for NaN. */
static void csv_real(FILE *f, double v)
{
	char buf[32];

	if (isnan(v)) {
		fputs(",", f);
		return;
	}
	for (int digits = 1; digits <= 17; digits++) {
		snprintf(buf, sizeof buf, "%.*g", digits, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fprintf(f, ",%s", buf);
}

/* Writes the epochs of one run; returns the rows written or -1. */
static int export_run(FILE *f, store *s, const store_run *r)
{
	store_setting *set;
	epoch_report *e;
	int n_set, n;
	const char *seed = "";

	if (store_run_settings(s, r->id, &set, &n_set) != TP_OK)
		return -1;
	if (store_epoch_list(s, r->id, &e, &n) != TP_OK) {
		store_settings_free(set, n_set);
		return -1;
	}
	for (int j = 0; j < n_set; j++)
		if (strcmp(set[j].key, "seed") == 0)
			seed = set[j].value;
	for (int i = 0; i < n; i++) {
		/* names are quoted for CSV: features files may have commas */
		fprintf(f, "%ld,%s,\"%s\",%s", r->id, r->session_name, r->data_name, r->noise);
		csv_real(f, r->noise_rate);
		fprintf(f, ",%lu,%s,%s,%d,%d", r->noise_seed, r->method, seed, e[i].epoch, e[i].warmup);
		csv_real(f, e[i].lr);
		csv_real(f, e[i].train_loss);
		for (int k = 0; k < 3; k++)
			csv_real(f, e[i].test_acc[k]);
		csv_real(f, e[i].target_acc);
		fprintf(f, ",%d", e[i].n_clean_used[0]);
		if (isnan(e[i].test_acc[1]))
			fputs(",", f);
		else
			fprintf(f, ",%d", e[i].n_clean_used[1]);
		for (int k = 0; k < 2; k++) {
			const split_report *sp = &e[i].split[k];
			int valid = sp->valid;

			csv_real(f, valid ? sp->quality.precision : NAN);
			csv_real(f, valid ? sp->quality.recall : NAN);
			csv_real(f, valid ? sp->quality.f1 : NAN);
			csv_real(f, valid ? sp->quality.auroc_posterior : NAN);
			csv_real(f, valid ? sp->mean[0] : NAN);
			csv_real(f, valid ? sp->mean[1] : NAN);
		}
		csv_real(f, e[i].seconds);
		fputc('\n', f);
	}
	free(e);
	store_settings_free(set, n_set);
	return n;
}

/* Selects the runs to export from the options. */
static tp_status export_select(store *s, const command *cmd, const cmd_args *a, store_run **runs, int *n)
{
	const char *which = cmd_str(cmd, a, "run");
	store_session info;
	char *end;
	long id;
	tp_status st;

	if (cmd_has(cmd, a, "all") && which)
		return tp_fail(TP_ERR_VALUE, "export metrics: --run %s and --all exclude each other: give one of them", which);
	if (cmd_has(cmd, a, "all"))
		return store_run_list(s, 0, runs, n);
	if (!which) {
		if (!rec.session)
			return tp_fail(TP_ERR_STATE, "export metrics: nothing is recorded in this session yet: give --run RUN or --all");
		return store_run_list(s, rec.session, runs, n);
	}
	errno = 0;
	id = strtol(which, &end, 10);
	if (end != which && *end == '\0' && errno == 0) {
		*runs = malloc(sizeof **runs);
		if (!*runs)
			return tp_fail(TP_ERR_NOMEM, "export metrics: out of memory");
		st = store_run_get(s, id, *runs);
		if (st != TP_OK) {
			free(*runs);
			*runs = NULL;
			return st;
		}
		*n = 1;
		return TP_OK;
	}
	st = store_session_find(s, which, &info);
	if (st != TP_OK)
		return tp_fail(st, "export metrics: --run '%s' is neither a run number nor a session name: 'runs' lists the runs",
			       which);
	st = store_run_list(s, info.id, runs, n);
	store_session_clear(&info);
	return st;
}

static tp_status cmd_export_metrics(workbench *wb, const command *cmd, const cmd_args *a)
{
	const char *path = a->argv[0];
	store_run *runs = NULL;
	int n = 0, rows = 0;
	FILE *f;
	store *s;
	tp_status st = rec_need_store("export metrics", 0, &s);

	if (st == TP_OK)
		st = export_select(s, cmd, a, &runs, &n);
	if (st != TP_OK)
		return st;
	files_make_parents(path);
	f = fopen(path, "w");
	if (!f) {
		store_run_list_free(runs, n);
		return tp_fail(TP_ERR_IO, "export metrics: cannot write '%s': %s: give a writable path",
			       path, strerror(errno));
	}
	fputs("run,session,data,noise,noise_rate,noise_seed,method,seed,epoch,warmup,lr,train_loss,"
	      "test_acc_a,test_acc_b,test_acc_ensemble,target_acc,clean_used_a,clean_used_b,"
	      "precision_a,recall_a,f1_a,auroc_a,gmm_mean_clean_a,gmm_mean_noisy_a,"
	      "precision_b,recall_b,f1_b,auroc_b,gmm_mean_clean_b,gmm_mean_noisy_b,seconds\n", f);
	for (int i = 0; i < n && st == TP_OK; i++) {
		int k = export_run(f, s, &runs[i]);

		if (k < 0)
			st = TP_ERR_IO;
		else
			rows += k;
	}
	if (fclose(f) != 0 && st == TP_OK)
		st = tp_fail(TP_ERR_IO, "export metrics: writing '%s' failed: %s", path, strerror(errno));
	if (st == TP_OK)
		out_printf("wrote %d epochs of %d runs to %s\n", rows, n, path);
	store_run_list_free(runs, n);
	return st;
}
