/* The plot command: writes a figure of the session to PNG, SVG or PDF. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"
#include "plot.h"

static tp_status cmd_plot(workbench *wb, const command *cmd, const cmd_args *a);

static const char *const plot_head_words[] = { "A", "B", NULL };

/* Completion words of the kind: the session figures and sweep. */
static const char *const plot_words[] = {
	"acc", "gmm", "split", "noise", "confusion", "classes", "sweep", NULL
};

static const cmd_option plot_opts[] = {
	{ "out", OPT_PATH, "FILE", "write to FILE; .png, .svg or .pdf picks the format (default KIND.png)", NULL },
	{ "head", OPT_WORD, "A|B", "head of the gmm, confusion and classes figures (default A)", plot_head_words },
	{ "runs", OPT_PATH, "FILE", "sweep: the runs file a sweep wrote (default sweep.runs.csv)", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

const command commands_plot[] = {
	{ "plot", "KIND", "write a figure: acc, gmm, split, noise, confusion, classes or sweep",
	  "acc: test accuracy of head A, head B and the ensemble per epoch, and the accuracy of "
	  "the training targets. gmm: histogram of the head's normalised losses, actually clean "
	  "and actually noisy samples apart, with the fitted Gaussians and the clean/noisy "
	  "threshold. split: F1 and AUROC of each head's noisy-label detection per epoch. noise: "
	  "the realised noise transition matrix. confusion: the head's test confusion matrix. "
	  "classes: per given label, the fraction actually clean and predicted clean. sweep: final "
	  "test accuracy against noise rate per method, from a sweep's runs file (--runs). Figures are "
	  "3.5 in wide with 9 pt labels (PNG at 300 dpi) in a colour-blind-safe palette.",
	  1, 1, 0, plot_opts, plot_words, cmd_plot },
	{ NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL, NULL }
};

/* "twin, sym 0.40" for the figure titles. */
static void plot_caption(const workbench *wb, char *buf, size_t size)
{
	if (wb->noise == NOISE_NONE)
		snprintf(buf, size, "%s, no noise", train_method_name(wb->config.method));
	else
		snprintf(buf, size, "%s, %s %.2f", train_method_name(wb->config.method),
			 noise_kind_name(wb->noise), wb->noise_rate);
}

/* plot sweep: the figure of a sweep's runs file. */
static tp_status plot_sweep_command(const command *cmd, const cmd_args *a)
{
	const char *runs = cmd_str(cmd, a, "runs");
	const char *out = cmd_str(cmd, a, "out");
	sweep_result *results;
	int n;
	tp_status st;

	if (!runs)
		runs = "sweep.runs.csv";
	if (!out)
		out = "sweep.png";
	st = sweep_read_runs(runs, &results, &n);
	if (st != TP_OK)
		return st;
	st = plot_sweep_write(results, n, out);
	free(results);
	if (st == TP_OK)
		out_printf("wrote %s: accuracy against noise rate from %d runs in %s\n", out, n, runs);
	return st;
}

static tp_status cmd_plot(workbench *wb, const command *cmd, const cmd_args *a)
{
	const char *out = cmd_str(cmd, a, "out");
	const char *head_name = cmd_str(cmd, a, "head");
	char default_out[32], caption[80];
	plot_source src;
	plot_kind kind;
	double width, height;
	tp_status st;

	if (strcmp(a->argv[0], "sweep") == 0)
		return plot_sweep_command(cmd, a);
	if (plot_kind_parse(a->argv[0], &kind) != 0)
		return tp_fail(TP_ERR_VALUE, "plot: unknown kind '%s': choose one of acc, gmm, split, noise, confusion, classes, sweep",
			       a->argv[0]);
	if (!out) {
		snprintf(default_out, sizeof default_out, "%s.png", plot_kind_names[kind]);
		out = default_out;
	}
	plot_caption(wb, caption, sizeof caption);
	memset(&src, 0, sizeof src);
	src.data = wb->data;
	src.given = wb->y_given;
	src.run = wb->run;
	src.head = head_name && strcmp(head_name, "B") == 0;
	src.tau = wb->config.tau;
	src.caption = caption;

	st = plot_write(kind, &src, out);
	if (st != TP_OK)
		return st;
	plot_size(kind, &width, &height);
	if (plot_format_from_path(out) == PLOT_FORMAT_PNG)
		out_printf("wrote %s: %s figure, %d x %d px PNG (%.1f x %.1f in at %d dpi)\n", out, plot_kind_names[kind],
			   (int)(width * PLOT_PNG_DPI / 72.0 + 0.5), (int)(height * PLOT_PNG_DPI / 72.0 + 0.5),
			   width / 72.0, height / 72.0, PLOT_PNG_DPI);
	else
		out_printf("wrote %s: %s figure, %.0f x %.0f pt (%.1f x %.1f in)\n", out, plot_kind_names[kind],
			   width, height, width / 72.0, height / 72.0);
	return TP_OK;
}
