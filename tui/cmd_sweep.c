/* The sweep command: a grid of runs and its table. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "output.h"
#include "selector.h"
#include "session_record.h"
#include "sweep.h"

typedef struct sweep_progress {
	const dataset *data;     /* the data set the sweep trains on */
	struct timespec start;
	int ran;                 /* runs trained in this call, skipped ones excluded */
} sweep_progress;

static double elapsed(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) + 1e-9 * (double)(now.tv_nsec - since->tv_nsec);
}

static void describe(const sweep_result *r, char *buf, size_t size)
{
	if (r->selector < 0)
		snprintf(buf, size, "%s, %s %.2f, seed %lu", train_method_name(r->method),
			 noise_kind_name(r->noise.kind), r->noise.rate, r->seed);
	else
		snprintf(buf, size, "%s/%s, %s %.2f, seed %lu", train_method_name(r->method),
			 selector_name((selector_kind)r->selector), noise_kind_name(r->noise.kind),
			 r->noise.rate, r->seed);
}

static void on_start(int index, int total, const sweep_result *what, void *user)
{
	char desc[128];

	describe(what, desc, sizeof desc);
	out_progress(desc, index, total);
}

static void on_done(int index, int total, const sweep_result *r, int skipped, void *user)
{
	sweep_progress *p = user;
	char desc[128], f1[16];
	double left;

	describe(r, desc, sizeof desc);
	out_progress_end();
	if (skipped) {
		out_printf("[%d/%d] %s: done before, accuracy %.4f\n", index + 1, total, desc, r->accuracy);
		return;
	}
	p->ran++;
	left = elapsed(&p->start) / p->ran * (total - index - 1);
	out_printf("[%d/%d] %s: accuracy %.4f, F1 %s (%.1f s, about %.0f s left)\n", index + 1, total, desc,
		   r->accuracy, out_num(f1, sizeof f1, r->f1, 4), r->seconds, left);
}

static int should_stop(void *user)
{
	return interrupt_requested;
}

/* Records each sweep run in the session store, like any other run. */
static void on_trained(const sweep_result *r, const trainer *t, const int *given,
		       const train_config *config, void *user)
{
	sweep_progress *p = user;

	if (rec_record_finished_run(p->data, t, given, r->noise.kind, r->noise.rate, r->seed, config) != TP_OK)
		out_error("sweep: the run was not recorded in the session store: %s", tp_last_error());
}

/* Prints the Markdown tables through out_printf. */
static void print_tables(const sweep_grid *g, int epochs, const sweep_result *results, int n)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		return;
	sweep_write_markdown(f, g, epochs, results, n);
	fclose(f);
	out_printf("%s", text);
	free(text);
}

tp_status cmd_sweep(workbench *wb, const command *cmd, const cmd_args *a)
{
	sweep_grid g;
	sweep_progress progress = { NULL, { 0, 0 }, 0 };
	sweep_hooks hooks = { on_start, on_done, should_stop, on_trained, &progress };
	const char *prefix = cmd_str(cmd, a, "out");
	const char *file = cmd_str(cmd, a, "file");
	char runs_path[1024], csv_path[1024], md_path[1024];
	int epochs = wb->config.epochs;
	long e;
	sweep_result *results;
	int n;
	tp_status st;

	memset(&g, 0, sizeof g);
	sweep_parse_noise(&g, "sym:0.5");
	sweep_parse_methods(&g, "ce,twin");
	g.n_selectors = 1;
	g.selectors[0] = wb->config.selector;
	sweep_parse_seeds(&g, "1");
	if (file && (st = sweep_read_file(&g, file, &epochs)) != TP_OK)
		return st;
	if ((cmd_str(cmd, a, "noise") && (st = sweep_parse_noise(&g, cmd_str(cmd, a, "noise"))) != TP_OK) ||
	    (cmd_str(cmd, a, "methods") && (st = sweep_parse_methods(&g, cmd_str(cmd, a, "methods"))) != TP_OK) ||
	    (cmd_str(cmd, a, "selectors") && (st = sweep_parse_selectors(&g, cmd_str(cmd, a, "selectors"))) != TP_OK) ||
	    (cmd_str(cmd, a, "seeds") && (st = sweep_parse_seeds(&g, cmd_str(cmd, a, "seeds"))) != TP_OK))
		return st;
	e = epochs;
	if ((st = cmd_int(cmd, a, "epochs", 1, 100000, &e)) != TP_OK)
		return st;
	epochs = (int)e;
	if (!prefix)
		prefix = "sweep";
	snprintf(runs_path, sizeof runs_path, "%s.runs.csv", prefix);
	snprintf(csv_path, sizeof csv_path, "%s.csv", prefix);
	snprintf(md_path, sizeof md_path, "%s.md", prefix);

	out_printf("sweep: %d run%s of %d epochs on %s; finished runs go to %s\n", sweep_count(&g),
		   sweep_count(&g) == 1 ? "" : "s", epochs, wb->base->name, runs_path);
	progress.data = wb->base;
	clock_gettime(CLOCK_MONOTONIC, &progress.start);
	st = sweep_run(wb->base, &wb->config, epochs, &g, runs_path, &hooks);
	out_progress_end();
	if (st != TP_OK)
		return st;

	st = sweep_read_runs(runs_path, &results, &n);
	if (st != TP_OK)
		return st;
	st = sweep_write_table(&g, epochs, results, n, csv_path, md_path);
	if (st == TP_OK) {
		print_tables(&g, epochs, results, n);
		out_printf("wrote %s and %s\n", csv_path, md_path);
	}
	free(results);
	return st;
}
