/* The dashboard command, its loop, and the step command its keys use. */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "clamp.h"
#include "dashboard.h"
#include "lexer.h"
#include "output.h"
#include "repl.h"

/* Redraws while training are at least this far apart, so that drawing
 * costs training little; a slice of training lasts DASH_SLICE_SECONDS
 * between key polls. */
#define DASH_REDRAW_SECONDS 0.25
#define DASH_SLICE_SECONDS 0.03
#define DASH_PAUSED_WAIT_MS 200

static tp_status cmd_dashboard(workbench *wb, const command *cmd, const cmd_args *a);
static tp_status cmd_step(workbench *wb, const command *cmd, const cmd_args *a);

static const cmd_option dashboard_opts[] = {
	{ "paused", OPT_FLAG, NULL, "open paused, to step by hand (default: training runs)", NULL },
	{ "exit-when-done", OPT_FLAG, NULL, "close when the schedule is complete (for scripts)", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

const command commands_dashboard[] = {
	{ "dashboard", "", "full-screen live view; training runs while it is open",
	  "Panels: accuracy curves per epoch, the loss histogram by truth with the fitted GMM and "
	  "its threshold, the split table with precision, recall, F1 and AUROC, the noise "
	  "transition matrix, per-class clean rates, the GMM parameters, and the epoch, step, "
	  "learning rate, loss and speed. Keys: p pause/resume, b one batch, e one epoch, g one EM "
	  "step, h switch head A/B, : any command, ? keys, q back to the prompt. Ctrl-C pauses.",
	  0, 0, 0, dashboard_opts, NULL, cmd_dashboard },
	{ "step", "[N]", "train the next N batches (default 1), crossing epochs as needed",
	  "Stops at the end of the schedule. An epoch that ends on the way is evaluated and "
	  "printed as with 'train'.",
	  0, 1, CMD_NEEDS_DATA | CMD_CHANGES_STATE, NULL, NULL, cmd_step },
	{ NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL, NULL }
};

const dash_key dash_keys[] = {
	{ 'p', "pause", NULL, 0, "pause or resume training" },
	{ 'b', "batch", "step 1", 0, "train one batch ('step 1')" },
	{ 'e', "epoch", "train 1", 0, "train to the end of the epoch ('train 1')" },
	{ 'g', "EM step", "gmm step", 1, "one EM iteration of the shown head's GMM ('gmm step')" },
	{ 'h', "head A/B", NULL, 0, "show the other head's GMM, split and class rates" },
	{ ':', "command", NULL, 0, "type any command; its output goes to the pane below" },
	{ '?', "keys", NULL, 0, "show or hide this list" },
	{ 'q', "quit", NULL, 0, "back to the prompt (Ctrl-C pauses)" },
	{ 0, NULL, NULL, 0, NULL }
};

static double wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- epoch reports, shared by step and the running loop ---- */

static void print_epoch(const epoch_report *r)
{
	char b[5][16];

	out_printf("epoch %d: loss %.4f  test A %s  B %s  ensemble %s  targets %s  F1 A %s%s\n",
		   r->epoch, r->train_loss,
		   out_num(b[0], 16, r->test_acc[0], 4), out_num(b[1], 16, r->test_acc[1], 4),
		   out_num(b[2], 16, r->test_acc[2], 4), out_num(b[3], 16, r->target_acc, 4),
		   out_num(b[4], 16, r->split[0].quality.f1, 4), r->warmup ? "  (warm-up)" : "");
}

static void on_epoch(const epoch_report *r, void *user)
{
	workbench *wb = user;

	/* record first, so that a printed epoch is always a saved one */
	wb_notify_epoch(wb, r);
	print_epoch(r);
	if (r->epoch == wb->config.epochs) {
		/* the trainer's own time is recorded; the dashboard's drawing is not in it */
		wb_record_result(wb);
		out_printf("schedule complete: %d epochs ('results' compares the finished runs)\n", r->epoch);
	}
}

static int should_stop(void *user)
{
	return interrupt_requested;
}

static tp_status schedule_check(workbench *wb, const char *name)
{
	tp_status st = wb_ensure_run(wb);

	if (st != TP_OK)
		return st;
	if (train_epochs_done(wb->run) >= wb->config.epochs)
		return tp_fail(TP_ERR_STATE, "%s: all %d epochs of the schedule are done: 'set epochs E' to extend it or 'reset'",
			       name, wb->config.epochs);
	return TP_OK;
}

static tp_status cmd_step(workbench *wb, const command *cmd, const cmd_args *a)
{
	train_hooks hooks = { on_epoch, should_stop, NULL, wb };
	long n = 1, before;
	tp_status st;

	if (a->argc == 1 && (st = parse_long("step: N", a->argv[0], 1, 100000000, &n)) != TP_OK)
		return st;
	st = schedule_check(wb, "step");
	if (st != TP_OK)
		return st;
	before = train_steps_done(wb->run);
	st = train_advance(wb->run, (int)n, &hooks);
	if (st != TP_OK)
		return st;
	out_printf("trained %ld batches: epoch %d, %d of %d samples, step %ld\n",
		   train_steps_done(wb->run) - before,
		   train_epochs_done(wb->run) + (train_in_epoch(wb->run) ? 1 : 0),
		   train_batch_position(wb->run), wb->data->n_train, train_steps_done(wb->run));
	return TP_OK;
}

/* ---- the output pane ---- */

static void pane_push(dash_pane *p, const char *line, int is_error)
{
	int slot;

	if (p->count < DASH_PANE_LINES) {
		slot = (p->first + p->count) % DASH_PANE_LINES;
		p->count++;
	} else {
		slot = p->first;
		p->first = (p->first + 1) % DASH_PANE_LINES;
	}
	snprintf(p->line[slot], DASH_LINE_MAX, "%s", line);
	p->is_error[slot] = is_error;
}

void dash_pane_add(dash_pane *p, const char *text, int is_error)
{
	for (const char *c = text; *c; c++) {
		if (*c == '\n') {
			p->partial[p->partial_len] = '\0';
			pane_push(p, p->partial, is_error);
			p->partial_len = 0;
		} else if (*c == '\t') {
			if (p->partial_len < DASH_LINE_MAX - 2)
				p->partial[p->partial_len++] = ' ';
		} else if (p->partial_len < DASH_LINE_MAX - 1) {
			p->partial[p->partial_len++] = *c;
		}
	}
}

const char *dash_pane_line(const dash_pane *p, int i, int *is_error)
{
	int slot = (p->first + i) % DASH_PANE_LINES;

	*is_error = p->is_error[slot];
	return p->line[slot];
}

static void pane_sink(int is_error, const char *text, void *user)
{
	dash_state *s = user;

	dash_pane_add(&s->pane, text, is_error);
}

static void pane_log(tp_log_level level, const char *line, void *user)
{
	dash_state *s = user;
	char buf[DASH_LINE_MAX];

	snprintf(buf, sizeof buf, "%s%s\n", level >= TP_LOG_WARN ? "warning: " : "", line);
	dash_pane_add(&s->pane, buf, level >= TP_LOG_WARN);
}

/* ---- meters ---- */

static unsigned long mix(unsigned long h, unsigned long v)
{
	return (h ^ v) * 1099511628211ul;
}

static unsigned long mix_double(unsigned long h, double v)
{
	unsigned long bits = 0;

	memcpy(&bits, &v, sizeof v < sizeof bits ? sizeof v : sizeof bits);
	return mix(h, bits);
}

/* A hash of everything the slow meters read: which data, labels and run,
 * the noise, the epochs done and the state of the shown head's GMM. */
static unsigned long meter_signature(const dash_state *s)
{
	workbench *wb = s->wb;
	unsigned long h = 14695981039346656037ul;

	h = mix(h, (unsigned long)(size_t)wb->data);
	h = mix(h, (unsigned long)(size_t)wb->run);
	h = mix(h, (unsigned long)(size_t)wb->y_given);
	h = mix(h, (unsigned long)wb->noise);
	h = mix_double(h, wb->noise_rate);
	h = mix(h, wb->noise_seed);
	h = mix(h, (unsigned long)wb->noise_chosen);
	h = mix_double(h, wb->config.tau);
	h = mix(h, (unsigned long)s->head);
	h = mix(h, (unsigned long)s->hist_width);
	if (wb->run) {
		const gmm *g = train_gmm(wb->run, s->head < train_n_heads(wb->run) ? s->head : 0);

		h = mix(h, (unsigned long)train_epochs_done(wb->run));
		h = mix(h, (unsigned long)g->n);
		h = mix(h, (unsigned long)g->iter);
		h = mix_double(h, g->loglik);
	}
	return h;
}

void dash_meters_free(dash_meters *m)
{
	meter_matrix_free(&m->noise);
	meter_classes_free(&m->classes);
	memset(m, 0, sizeof *m);
}

static void meters_gmm(dash_state *s, const gmm *g)
{
	workbench *wb = s->wb;
	dash_meters *m = &s->meters;
	int bins = clamp_int(s->hist_width, 1, METER_HIST_MAX_BINS);

	m->gmm_shown = *g;
	m->gmm_shown.loss = m->gmm_shown.x = NULL;
	m->hist_valid = meter_hist_compute(g, wb->y_given, wb->data->y_train, wb->config.tau, bins, &m->hist) == TP_OK;
	m->split_valid = meter_split_compute(g, wb->y_given, wb->data->y_train, wb->config.tau, &m->split) == TP_OK;
}

static void meters_classes(dash_state *s, const gmm *g)
{
	workbench *wb = s->wb;
	const dataset *d = wb->data;
	double *p = NULL;

	if (g && g->x && g->n == d->n_train && (p = malloc((size_t)g->n * sizeof *p)) != NULL)
		gmm_clean_prob(g, p);
	s->meters.classes_valid = meter_classes_compute(wb->y_given, d->y_train, p, d->n_train, d->n_classes,
						       wb->config.tau, &s->meters.classes) == TP_OK;
	free(p);
}

void dash_meters_refresh(dash_state *s)
{
	workbench *wb = s->wb;
	dash_meters *m = &s->meters;
	unsigned long sig = meter_signature(s);
	const gmm *g = NULL;

	if (sig == m->signature && m->signature != 0)
		return;
	dash_meters_free(m);
	m->signature = sig;
	if (!wb->data)
		return;
	if (wb->run && s->head < train_n_heads(wb->run)) {
		g = train_gmm(wb->run, s->head);
		if (g->x && g->n == wb->data->n_train)
			meters_gmm(s, g);
	}
	m->noise_valid = meter_matrix_compute(wb->data->y_train, wb->y_given, wb->data->n_train,
					      wb->data->n_classes, &m->noise) == TP_OK;
	m->noise_rate = noise_realised_rate(wb->data->y_train, wb->y_given, wb->data->n_train);
	meters_classes(s, g);
	tp_clear_error();
}

/* ---- running commands ---- */

/* Tells the observers (the session journal) about the batches the loop
 * trained, as the one 'step N' command they amount to. */
static void pending_flush(dash_state *s)
{
	char count[32];
	char *argv[2];
	const command *cmd;
	int used;

	if (s->pending_steps == 0)
		return;
	snprintf(count, sizeof count, "%ld", s->pending_steps);
	argv[0] = "step";
	argv[1] = count;
	cmd = command_find(2, argv, &used);
	wb_notify_command(s->wb, 2, argv, cmd ? cmd->flags : CMD_CHANGES_STATE, TP_OK);
	s->pending_steps = 0;
}

/* Runs a key's command line through the command table. */
static void run_key_command(dash_state *s, const dash_key *k)
{
	char line[128];

	snprintf(line, sizeof line, "%s%s%s", k->command, k->with_head ? " --head " : "",
		 k->with_head ? (s->head ? "B" : "A") : "");
	pending_flush(s);
	out_printf("> %s\n", line);
	repl_execute_line(s->wb, line, NULL, 0);
}

static void run_command_line(dash_state *s)
{
	s->cmdline[s->cmd_len] = '\0';
	s->editing = 0;
	if (s->cmd_len == 0)
		return;
	if (strncmp(s->cmdline, "dashboard", 9) == 0) {
		out_error("dashboard: it is open already: 'q' goes back to the prompt");
		return;
	}
	pending_flush(s);
	out_printf("> %s\n", s->cmdline);
	if (repl_execute_line(s->wb, s->cmdline, NULL, 1) == REPL_QUIT)
		s->quit = 1;
	s->cmd_len = 0;
	/* the hint to load data is stale once a command loaded some */
	if (s->wb->data && strncmp(s->message, "no data", 7) == 0)
		s->message[0] = '\0';
}

/* Checks that every key's command is in the command table. */
static tp_status keys_check(void)
{
	for (const dash_key *k = dash_keys; k->key; k++) {
		char first[64], second[64];
		char *argv[2] = { first, second };
		int used, n;

		if (!k->command)
			continue;
		n = sscanf(k->command, "%63s %63s", first, second);
		if (n < 1 || !command_find(n, argv, &used))
			return tp_fail(TP_ERR_STATE, "dashboard: key '%c' is bound to '%s', which is not a command",
				       k->key, k->command);
	}
	return TP_OK;
}

/* ---- keys ---- */

static void edit_key(dash_state *s, int key)
{
	if (key == DASH_KEY_ENTER) {
		run_command_line(s);
	} else if (key == DASH_KEY_ESCAPE) {
		s->editing = 0;
		s->cmd_len = 0;
	} else if (key == DASH_KEY_BACKSPACE) {
		if (s->cmd_len > 0)
			s->cmd_len--;
	} else if (key >= 32 && key < 256 && s->cmd_len < DASH_CMDLINE_MAX - 1) {
		s->cmdline[s->cmd_len++] = (char)key;
	}
	s->cmdline[s->cmd_len] = '\0';
}

/* Shows a status message on the keys line and in the pane. */
static void message_set(dash_state *s, const char *text)
{
	snprintf(s->message, sizeof s->message, "%s", text);
	dash_pane_add(&s->pane, text, 0);
	dash_pane_add(&s->pane, "\n", 0);
}

static void toggle_pause(dash_state *s)
{
	s->running = !s->running;
	s->speed_time = 0.0;
	if (!s->running)
		pending_flush(s);
	message_set(s, s->running ? "training resumed" : "paused: 'p' resumes");
}

static void switch_head(dash_state *s)
{
	if (!s->wb->run || train_n_heads(s->wb->run) < 2) {
		message_set(s, "head B exists only with method twin");
		s->head = 0;
		return;
	}
	s->head = !s->head;
	message_set(s, s->head ? "showing head B" : "showing head A");
}

static void handle_key(dash_state *s, int key)
{
	if (s->editing) {
		edit_key(s, key);
		return;
	}
	if (key == DASH_KEY_ESCAPE && s->help_shown) {
		s->help_shown = 0;
		return;
	}
	for (const dash_key *k = dash_keys; k->key; k++) {
		if (k->key != key)
			continue;
		if (k->command)
			run_key_command(s, k);
		else if (key == 'p')
			toggle_pause(s);
		else if (key == 'h')
			switch_head(s);
		else if (key == ':')
			s->editing = 1;
		else if (key == '?')
			s->help_shown = !s->help_shown;
		else if (key == 'q')
			s->quit = 1;
		return;
	}
}

/* ---- the loop ---- */

static volatile sig_atomic_t terminate_signal;

static void on_terminate(int sig)
{
	terminate_signal = sig;
}

static int can_train(const dash_state *s)
{
	workbench *wb = s->wb;

	return wb->data && (!wb->run || train_epochs_done(wb->run) < wb->config.epochs);
}

/* What the hooks of a training slice need. */
typedef struct slice_context {
	dash_state *s;
	double deadline;
} slice_context;

static int slice_should_stop(void *user)
{
	const slice_context *c = user;

	return interrupt_requested || terminate_signal || wall_seconds() >= c->deadline;
}

static void slice_on_epoch(const epoch_report *r, void *user)
{
	const slice_context *c = user;

	on_epoch(r, c->s->wb);
}

/* Trains one time slice; pauses at the end of the schedule or on error. */
static void train_slice(dash_state *s)
{
	workbench *wb = s->wb;
	double start = wall_seconds();
	slice_context context = { s, start + DASH_SLICE_SECONDS };
	train_hooks hooks = { slice_on_epoch, slice_should_stop, NULL, &context };
	tp_status st = wb_ensure_run(wb);

	if (st == TP_OK) {
		long before = train_steps_done(wb->run);

		st = train_advance(wb->run, 1 << 30, &hooks);
		s->pending_steps += train_steps_done(wb->run) - before;
		s->running_steps += train_steps_done(wb->run) - before;
	}
	if (st != TP_OK) {
		out_error("%s", tp_last_error()[0] ? tp_last_error() : tp_status_name(st));
		s->running = 0;
	}
}

static void speed_update(dash_state *s)
{
	double now = wall_seconds();
	long steps;

	if (!s->running || !s->wb->run || now - s->speed_time < 1.0)
		return;
	steps = train_steps_done(s->wb->run);
	if (s->speed_time > 0.0 && steps >= s->speed_steps) {
		double rate = (double)(steps - s->speed_steps) * s->wb->config.batch_size / (now - s->speed_time);

		s->speed = s->speed > 0.0 ? 0.5 * s->speed + 0.5 * rate : rate;
	}
	s->speed_steps = steps;
	s->speed_time = now;
}

static void loop_interrupts(dash_state *s)
{
	if (interrupt_requested) {
		interrupt_requested = 0;
		s->running = 0;
		pending_flush(s);
		message_set(s, "Ctrl-C: paused ('q' goes back to the prompt)");
	}
	if (terminate_signal)
		s->quit = 1;
}

static void dash_loop(dash_state *s)
{
	double last_draw = 0.0;

	while (!s->quit) {
		double start = wall_seconds();
		int was_running = s->running;
		int key;

		loop_interrupts(s);
		if (s->quit)
			break;
		if (s->running && !can_train(s)) {
			s->running = 0;
			pending_flush(s);
			message_set(s, "schedule complete: ':set epochs E' extends it");
			if (s->exit_when_done)
				break;
		}
		if (s->running)
			train_slice(s);
		speed_update(s);
		if (!s->running || wall_seconds() - last_draw >= DASH_REDRAW_SECONDS) {
			dash_meters_refresh(s);
			dash_draw(s);
			last_draw = wall_seconds();
		}
		key = dash_screen_key(s->running ? 0 : DASH_PAUSED_WAIT_MS);
		if (was_running)
			s->running_seconds += wall_seconds() - start;
		if (key == DASH_KEY_NONE)
			continue;
		if (key != DASH_KEY_RESIZE)
			handle_key(s, key);
		/* show the effect of a key at once */
		last_draw = 0.0;
	}
}

/* ---- opening and closing ---- */

static struct sigaction old_term, old_hup;

static void signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_terminate;
	sigemptyset(&sa.sa_mask);
	terminate_signal = 0;
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
}

static void signals_restore(void)
{
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
}

static void summary_print(const dash_state *s)
{
	long steps = s->running_steps;

	if (steps <= 0 || s->running_seconds <= 0.0 || !s->wb->data)
		return;
	out_printf("dashboard: trained %ld batches (%.2f epochs) in %.2f s while running, %.0f samples/s\n",
		   steps, (double)steps * s->wb->config.batch_size / s->wb->data->n_train,
		   s->running_seconds, (double)steps * s->wb->config.batch_size / s->running_seconds);
}

static tp_status cmd_dashboard(workbench *wb, const command *cmd, const cmd_args *a)
{
	dash_state *s;
	tp_status st = keys_check();

	if (st != TP_OK)
		return st;
	s = calloc(1, sizeof *s);
	if (!s)
		return tp_fail(TP_ERR_NOMEM, "dashboard: out of memory");
	s->wb = wb;
	s->running = !cmd_has(cmd, a, "paused") && wb->data;
	s->exit_when_done = cmd_has(cmd, a, "exit-when-done");
	snprintf(s->message, sizeof s->message, "%s", wb->data ? "" : "no data: ':load fashion-mnist'");

	st = dash_screen_open(s);
	if (st != TP_OK) {
		free(s);
		return st;
	}
	out_set_sink(pane_sink, s);
	tp_log_set(pane_log, s);
	signals_install();
	dash_loop(s);
	pending_flush(s);
	signals_restore();
	tp_log_set(NULL, NULL);
	out_set_sink(NULL, NULL);
	dash_screen_close();

	summary_print(s);
	dash_meters_free(&s->meters);
	if (terminate_signal) {
		int sig = terminate_signal;

		free(s);
		raise(sig);
		return TP_OK;
	}
	free(s);
	return TP_OK;
}
