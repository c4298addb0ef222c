#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"

volatile int interrupt_requested;

static tp_status cmd_help(workbench *, const command *, const cmd_args *);
static tp_status cmd_echo(workbench *, const command *, const cmd_args *);
static tp_status cmd_quit(workbench *, const command *, const cmd_args *);

static const char *const method_words[] = { "ce", "gce", "ls", "twin", "single", NULL };
static const char *const head_words[] = { "A", "B", NULL };

static const cmd_option fmnist_opts[] = {
	{ "dir", OPT_PATH, "DIR", "folder of the IDX files (default " FMNIST_DEFAULT_DIR ")", NULL },
	{ "dim", OPT_INT, "D", "PCA feature dimension, 1..784 (default 128)", NULL },
	{ "train", OPT_INT, "N", "use the first N training images (default all 60000)", NULL },
	{ "test", OPT_INT, "N", "use the first N test images (default all 10000)", NULL },
	{ "shots", OPT_INT, "K", "keep K training images per class, drawn with --seed", NULL },
	{ "seed", OPT_INT, "S", "seed of the few-shot sampling (default 1)", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

static const cmd_option features_opts[] = {
	{ "labels", OPT_PATH, "FILE", "true labels: integer .npy or text, one per line (required)", NULL },
	{ "classes", OPT_PATH, "FILE", "class names, one per line (required)", NULL },
	{ "test-features", OPT_PATH, "FILE", "test features .npy (default: split off --test-ratio)", NULL },
	{ "test-labels", OPT_PATH, "FILE", "labels of --test-features", NULL },
	{ "test-ratio", OPT_REAL, "R", "fraction held out as test set without test files (default 0.2)", NULL },
	{ "text-features", OPT_PATH, "FILE", "(C, D) .npy of fixed class text features B of the vector head", NULL },
	{ "shots", OPT_INT, "K", "keep K training samples per class", NULL },
	{ "seed", OPT_INT, "S", "seed of the split and the few-shot sampling (default 1)", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

static const cmd_option noise_opts[] = {
	{ "seed", OPT_INT, "S", "seed of the noise (default 1)", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

static const cmd_option fewshot_opts[] = {
	{ "shots", OPT_INT, "K", "training samples per class (default 16)", NULL },
	{ "seed", OPT_INT, "S", "seed of the sampling (default 1)", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

static const cmd_option labels_opts[] = {
	{ "true", OPT_PATH, "FILE", "true labels, replacing the loaded ones (for split quality)", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

static const cmd_option sweep_opts[] = {
	{ "noise", OPT_TEXT, "SPEC", "noise settings, e.g. 'sym:0.2,0.5 pair:0.4' (default sym:0.5)", NULL },
	{ "methods", OPT_TEXT, "LIST", "methods, e.g. ce,gce,twin (default ce,twin)", NULL },
	{ "selectors", OPT_TEXT, "LIST", "selectors of twin and single (default: the current one)", NULL },
	{ "seeds", OPT_TEXT, "LIST", "seeds of the noise and the run, e.g. 1,2,3 (default 1)", NULL },
	{ "epochs", OPT_INT, "E", "epochs of every run (default: the epochs setting)", NULL },
	{ "file", OPT_PATH, "FILE", "grid file: lines 'noise SPEC', 'methods LIST', 'selectors LIST', 'seeds LIST', 'epochs E'", NULL },
	{ "out", OPT_PATH, "PREFIX", "output prefix: PREFIX.runs.csv, PREFIX.csv, PREFIX.md (default sweep)", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

static const cmd_option head_opts[] = {
	{ "head", OPT_WORD, "A|B", "which head's GMM (default A)", head_words },
	{ NULL, 0, NULL, NULL, NULL }
};

static const cmd_option train_opts[] = {
	{ "verbose", OPT_FLAG, NULL, "also print each head's GMM and split after every epoch", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

static const cmd_option top_opts[] = {
	{ "head", OPT_WORD, "A|B", "which head's split (default A)", head_words },
	{ "noisy-only", OPT_FLAG, NULL, "list only samples whose given label is wrong", NULL },
	{ NULL, 0, NULL, NULL, NULL }
};

const command commands_core[] = {
	{ "load fashion-mnist", "", "load Fashion-MNIST with the built-in PCA encoder",
	  "Reads Debian's Fashion-MNIST IDX files and encodes the images with the built-in "
	  "PCA-whitening encoder, a frozen stand-in for CLIP image features on this data. "
	  "Drops the noise and the run.",
	  0, 0, CMD_CHANGES_STATE, fmnist_opts, NULL, cmd_load_fmnist },
	{ "load features", "FILE.npy", "load your own (N, D) features with labels and class names",
	  "FILE.npy holds one float32 or float64 feature row per sample, for example CLIP image "
	  "features computed elsewhere. Drops the noise and the run.",
	  1, 1, CMD_CHANGES_STATE, features_opts, NULL, cmd_load_features },
	{ "noise sym", "RATE", "corrupt exactly round(RATE N) labels, new label from the other classes",
	  NULL, 1, 1, CMD_NEEDS_DATA | CMD_CHANGES_STATE, noise_opts, NULL, cmd_noise_apply },
	{ "noise sym-incl", "RATE", "corrupt round(RATE N) labels, new label from all classes",
	  "The new label may equal the true one, so about RATE (1 - 1/C) of the labels change.",
	  1, 1, CMD_NEEDS_DATA | CMD_CHANGES_STATE, noise_opts, NULL, cmd_noise_apply },
	{ "noise pair", "RATE", "corrupt round(RATE N) labels to the next class, (y + 1) mod C",
	  NULL, 1, 1, CMD_NEEDS_DATA | CMD_CHANGES_STATE, noise_opts, NULL, cmd_noise_apply },
	{ "noise fewshot-sym", "FP", "K shots per class, FP of them images of other classes",
	  "The few-shot protocol of PTNL and JoAPR: for each class c, K - FP images of c and FP "
	  "images drawn uniformly from the other classes' unused images, all labelled c. Builds "
	  "the training set from the loaded one.",
	  1, 1, CMD_NEEDS_DATA | CMD_CHANGES_STATE, fewshot_opts, NULL, cmd_noise_fewshot },
	{ "noise fewshot-pair", "FP", "K shots per class, FP of them images of class c+1",
	  "As fewshot-sym, but the FP false shots labelled c are unused images of class (c + 1) mod C.",
	  1, 1, CMD_NEEDS_DATA | CMD_CHANGES_STATE, fewshot_opts, NULL, cmd_noise_fewshot },
	{ "noise matrix", "FILE", "draw every label from a row of a C x C transition matrix",
	  "FILE holds C lines of C probabilities (spaces, tabs or commas); row t is the "
	  "distribution of the given label of a sample of true class t and must sum to 1.",
	  1, 1, CMD_NEEDS_DATA | CMD_CHANGES_STATE, noise_opts, NULL, cmd_noise_matrix },
	{ "noise labels", "FILE", "read the given labels from a file (real noise)",
	  "FILE: integer .npy or text, one label per training sample or per source row. The "
	  "loaded labels stay the truth unless --true gives other ones.",
	  1, 1, CMD_NEEDS_DATA | CMD_CHANGES_STATE, labels_opts, NULL, cmd_noise_labels },
	{ "noise idn", "RATE", "instance-dependent noise: exactly round(RATE N) labels, flips depend on features",
	  "Part-dependent noise after Xia et al. (2020): per-sample flip rates from N(RATE, 0.1^2) "
	  "truncated to [0, 1] choose the samples, random projections of the features give the "
	  "new labels.",
	  1, 1, CMD_NEEDS_DATA | CMD_CHANGES_STATE, noise_opts, NULL, cmd_noise_apply },
	{ "noise show", "", "show the noise, its realised rate and transition matrix",
	  NULL, 0, 0, CMD_NEEDS_DATA, NULL, NULL, cmd_noise_show },
	{ "noise clear", "", "restore the true labels",
	  NULL, 0, 0, CMD_NEEDS_DATA | CMD_CHANGES_STATE, NULL, NULL, cmd_noise_clear },
	{ "method", "ce|gce|ls|twin|single", "choose the training method (starts a new run)",
	  "ce: cross-entropy (CoOp). gce: generalised cross-entropy, q = gce_q. ls: label "
	  "smoothing with eps = smoothing. twin: two heads that divide the data for each other "
	  "with a selector (set selector) on their losses and train on smoothed or ensemble "
	  "labels. single: one head with the twin targets on its own split.",
	  1, 1, CMD_CHANGES_STATE, NULL, method_words, cmd_method },
	{ "set", "KEY VALUE", "change a setting ('show config' lists them)",
	  NULL, 2, 2, CMD_CHANGES_STATE, NULL, setting_names, cmd_set },
	{ "show config", "", "show the data set, the noise, the method and every setting",
	  NULL, 0, 0, 0, NULL, NULL, cmd_show_config },
	{ "train", "[EPOCHS]", "train the next EPOCHS epochs of the schedule (default: the rest)",
	  "Prints one line per epoch. 'set epochs E' sets the schedule length, so training in "
	  "pieces gives the same run as training in one go. Ctrl-C stops at the next batch; "
	  "'train' then finishes that epoch.",
	  0, 1, CMD_NEEDS_DATA | CMD_CHANGES_STATE, train_opts, NULL, cmd_train },
	{ "eval", "", "test accuracy of head A, head B and their ensemble",
	  NULL, 0, 0, CMD_NEEDS_DATA, NULL, NULL, cmd_eval },
	{ "reset", "", "start the run again from the initial heads",
	  NULL, 0, 0, CMD_NEEDS_DATA | CMD_CHANGES_STATE, NULL, NULL, cmd_reset },
	{ "sweep", "", "train a grid of runs and print the mean +- std table over seeds",
	  "Runs every combination of noise setting, method, selector (twin and single only) and "
	  "seed on the loaded data set, one after another, with the current settings otherwise. "
	  "Each finished run is appended to PREFIX.runs.csv, so running the same sweep again "
	  "after an interruption (Ctrl-C) continues where it stopped. At the end the tables of "
	  "test accuracy and split F1 are printed and written to PREFIX.csv and PREFIX.md.",
	  0, 0, CMD_NEEDS_DATA, sweep_opts, NULL, cmd_sweep },
	{ "results", "", "table of the finished runs of this session",
	  NULL, 0, 0, 0, NULL, NULL, cmd_results },
	{ "gmm init", "", "compute the head's losses and initialise its GMM (2-means split)",
	  NULL, 0, 0, CMD_NEEDS_DATA | CMD_CHANGES_STATE, head_opts, NULL, cmd_gmm_init },
	{ "gmm step", "[N]", "run N EM iterations (default 1), printing each",
	  NULL, 0, 1, CMD_NEEDS_DATA | CMD_CHANGES_STATE, head_opts, NULL, cmd_gmm_step },
	{ "gmm fit", "", "run EM until it converges or reaches gmm_max_iter",
	  NULL, 0, 0, CMD_NEEDS_DATA | CMD_CHANGES_STATE, head_opts, NULL, cmd_gmm_fit },
	{ "gmm show", "", "show the GMM's means, variances, weights and log-likelihood",
	  NULL, 0, 0, CMD_NEEDS_DATA, head_opts, NULL, cmd_gmm_show },
	{ "split show", "", "clean/noisy split against the truth: counts, precision, recall, F1, AUROC",
	  NULL, 0, 0, CMD_NEEDS_DATA, head_opts, NULL, cmd_split_show },
	{ "split top", "[N]", "the N most suspect samples (default 10)",
	  NULL, 0, 1, CMD_NEEDS_DATA, top_opts, NULL, cmd_split_top },
	{ "export split", "FILE.csv", "write each training sample's labels, losses and clean probabilities",
	  "Columns: index, given, true, loss_a, p_clean_a, and loss_b, p_clean_b with two heads. "
	  "The losses are the ones the most recent GMM fit used.",
	  1, 1, CMD_NEEDS_DATA, NULL, NULL, cmd_export_split },
	{ "echo", "[TEXT...]", "print TEXT (for scripts)",
	  NULL, 0, CMD_MAX_ARGS, 0, NULL, NULL, cmd_echo },
	{ "help", "[COMMAND]", "list the commands, or describe one",
	  NULL, 0, 2, 0, NULL, NULL, cmd_help },
	{ "quit", "", "leave twinprompt (also 'exit' and Ctrl-D)",
	  NULL, 0, 0, 0, NULL, NULL, cmd_quit },
	{ NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL, NULL }
};

static const command *const command_groups[] = {
	commands_core, commands_model, commands_plot, commands_dashboard, commands_session, NULL
};

/* The groups flattened once into one array of pointers. */
static const command **all_commands;
static int n_all_commands;

static void command_flatten(void)
{
	int n = 0;

	if (all_commands)
		return;
	for (int g = 0; command_groups[g]; g++)
		for (const command *c = command_groups[g]; c->name; c++)
			n++;
	all_commands = malloc((size_t)n * sizeof *all_commands);
	if (!all_commands)
		return;
	for (int g = 0; command_groups[g]; g++)
		for (const command *c = command_groups[g]; c->name; c++)
			all_commands[n_all_commands++] = c;
}

int command_count(void)
{
	command_flatten();
	return n_all_commands;
}

const command *command_at(int i)
{
	command_flatten();
	return i >= 0 && i < n_all_commands ? all_commands[i] : NULL;
}

static int name_words(const char *name)
{
	return strchr(name, ' ') ? 2 : 1;
}

static int name_matches(const char *name, int argc, const char *const *argv)
{
	const char *space = strchr(name, ' ');

	if (!space)
		return strcmp(name, argv[0]) == 0;
	if (argc < 2)
		return 0;
	return strlen(argv[0]) == (size_t)(space - name) &&
	       strncmp(name, argv[0], (size_t)(space - name)) == 0 &&
	       strcmp(space + 1, argv[1]) == 0;
}

const command *command_find(int argc, char **argv, int *used)
{
	const char *words[2];

	if (argc < 1)
		return NULL;
	/* "exit" is an alias of "quit" */
	words[0] = strcmp(argv[0], "exit") == 0 ? "quit" : argv[0];
	words[1] = argc > 1 ? argv[1] : NULL;
	for (int i = 0; i < command_count(); i++) {
		const command *c = command_at(i);

		if (name_matches(c->name, argc, words)) {
			*used = name_words(c->name);
			return c;
		}
	}
	return NULL;
}

void command_print_usage(const command *cmd)
{
	out_printf("usage: %s", cmd->name);
	if (cmd->args_usage && cmd->args_usage[0])
		out_printf(" %s", cmd->args_usage);
	for (const cmd_option *o = cmd->options; o && o->name; o++) {
		/* an option whose help contains "(required)" is printed without brackets */
		int required = o->help && strstr(o->help, "(required)");

		if (o->type == OPT_FLAG)
			out_printf(required ? " --%s" : " [--%s]", o->name);
		else
			out_printf(required ? " --%s %s" : " [--%s %s]", o->name, o->value_name);
	}
	out_printf("\n");
}

static int option_index(const command *cmd, const char *name, size_t len)
{
	int i = 0;

	for (const cmd_option *o = cmd->options; o && o->name; o++, i++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return i;
	return -1;
}

/* Lists the subcommands of a first word, for the "unknown command" message. */
static void list_subcommands(const char *first, char *buf, size_t size)
{
	size_t len = strlen(first);

	buf[0] = '\0';
	for (int i = 0; i < command_count(); i++) {
		const command *c = command_at(i);

		if (strncmp(c->name, first, len) == 0 && c->name[len] == ' ') {
			size_t used = strlen(buf);

			snprintf(buf + used, size - used, "%s%s", used ? ", " : "", c->name + len + 1);
		}
	}
}

static tp_status parse_args(const command *cmd, int argc, char **argv, cmd_args *a)
{
	int only_positional = 0;

	memset(a, 0, sizeof *a);
	a->name = cmd->name;
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		const char *eq;
		int k;

		if (!only_positional && strcmp(w, "--") == 0) {
			only_positional = 1;
			continue;
		}
		if (only_positional || strncmp(w, "--", 2) != 0 || w[2] == '\0') {
			if (a->argc == CMD_MAX_ARGS || a->argc == cmd->max_args)
				return tp_fail(TP_ERR_VALUE, "%s: unexpected argument '%s': see 'help %s'",
					       cmd->name, w, cmd->name);
			a->argv[a->argc++] = w;
			continue;
		}
		eq = strchr(w + 2, '=');
		k = option_index(cmd, w + 2, eq ? (size_t)(eq - w - 2) : strlen(w + 2));
		if (k < 0)
			return tp_fail(TP_ERR_VALUE, "%s: unknown option '%s': see 'help %s'",
				       cmd->name, w, cmd->name);
		a->opt_given[k] = 1;
		if (cmd->options[k].type == OPT_FLAG) {
			if (eq)
				return tp_fail(TP_ERR_VALUE, "%s: option --%s takes no value",
					       cmd->name, cmd->options[k].name);
			continue;
		}
		if (eq) {
			a->opt_value[k] = eq + 1;
		} else if (i + 1 < argc) {
			a->opt_value[k] = argv[++i];
		} else {
			return tp_fail(TP_ERR_VALUE, "%s: option --%s needs a value %s",
				       cmd->name, cmd->options[k].name, cmd->options[k].value_name);
		}
		if (cmd->options[k].type == OPT_WORD) {
			int found = 0;

			for (const char *const *c = cmd->options[k].choices; c && *c; c++)
				found |= strcmp(*c, a->opt_value[k]) == 0;
			if (!found)
				return tp_fail(TP_ERR_VALUE, "%s: --%s is '%s': choose one of %s",
					       cmd->name, cmd->options[k].name, a->opt_value[k],
					       cmd->options[k].value_name);
		}
	}
	if (a->argc < cmd->min_args)
		return tp_fail(TP_ERR_VALUE, "%s: missing argument %s: usage '%s %s'",
			       cmd->name, cmd->args_usage, cmd->name, cmd->args_usage);
	return TP_OK;
}

tp_status command_execute(workbench *wb, int argc, char **argv)
{
	const command *cmd;
	cmd_args a;
	int used = 0;
	tp_status st;

	cmd = command_find(argc, argv, &used);
	if (!cmd) {
		char subs[256];

		list_subcommands(argv[0], subs, sizeof subs);
		if (subs[0] && argc >= 2)
			return tp_fail(TP_ERR_VALUE, "%s: unknown subcommand '%s': choose one of %s",
				       argv[0], argv[1], subs);
		if (subs[0])
			return tp_fail(TP_ERR_VALUE, "%s: missing subcommand: choose one of %s",
				       argv[0], subs);
		return tp_fail(TP_ERR_VALUE, "unknown command '%s': type 'help' for the list", argv[0]);
	}
	st = parse_args(cmd, argc - used, argv + used, &a);
	if (st != TP_OK)
		return st;
	if ((cmd->flags & CMD_NEEDS_DATA) && !wb->data)
		return tp_fail(TP_ERR_STATE, "%s: no data set is loaded: run 'load fashion-mnist' or 'load features' first",
			       cmd->name);
	interrupt_requested = 0;
	st = cmd->exec(wb, cmd, &a);
	wb_notify_command(wb, argc, argv, cmd->flags, st);
	return st;
}

static int find_option(const command *cmd, const char *opt)
{
	return option_index(cmd, opt, strlen(opt));
}

int cmd_has(const command *cmd, const cmd_args *a, const char *opt)
{
	int k = find_option(cmd, opt);

	return k >= 0 && a->opt_given[k];
}

const char *cmd_str(const command *cmd, const cmd_args *a, const char *opt)
{
	int k = find_option(cmd, opt);

	return k >= 0 ? a->opt_value[k] : NULL;
}

tp_status parse_long(const char *what, const char *text, long lo, long hi, long *value)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (end == text || *end != '\0' || errno == ERANGE)
		return tp_fail(TP_ERR_VALUE, "%s is '%s': give an integer from %ld to %ld", what, text, lo, hi);
	if (v < lo || v > hi)
		return tp_fail(TP_ERR_VALUE, "%s is %ld: give an integer from %ld to %ld", what, v, lo, hi);
	*value = v;
	return TP_OK;
}

tp_status parse_double(const char *what, const char *text, double lo, double hi, double *value)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v))
		return tp_fail(TP_ERR_VALUE, "%s is '%s': give a number from %g to %g", what, text, lo, hi);
	if (v < lo || v > hi)
		return tp_fail(TP_ERR_VALUE, "%s is %g: give a number from %g to %g", what, v, lo, hi);
	*value = v;
	return TP_OK;
}

tp_status cmd_int(const command *cmd, const cmd_args *a, const char *opt,
		  long lo, long hi, long *value)
{
	char what[96];
	const char *text = cmd_str(cmd, a, opt);

	if (!text)
		return TP_OK;
	snprintf(what, sizeof what, "%s: --%s", cmd->name, opt);
	return parse_long(what, text, lo, hi, value);
}

tp_status cmd_real(const command *cmd, const cmd_args *a, const char *opt,
		   double lo, double hi, double *value)
{
	char what[96];
	const char *text = cmd_str(cmd, a, opt);

	if (!text)
		return TP_OK;
	snprintf(what, sizeof what, "%s: --%s", cmd->name, opt);
	return parse_double(what, text, lo, hi, value);
}

static void print_command_help(const command *cmd)
{
	command_print_usage(cmd);
	out_printf("  %s\n", cmd->summary);
	if (cmd->help)
		out_printf("  %s\n", cmd->help);
	for (const cmd_option *o = cmd->options; o && o->name; o++) {
		char left[48];

		if (o->type == OPT_FLAG)
			snprintf(left, sizeof left, "--%s", o->name);
		else
			snprintf(left, sizeof left, "--%s %s", o->name, o->value_name);
		out_printf("    %-22s %s\n", left, o->help);
	}
}

static tp_status cmd_help(workbench *wb, const command *self, const cmd_args *a)
{
	if (a->argc == 0) {
		out_printf("Commands (type 'help COMMAND' for details; ';' separates commands):\n");
		for (int i = 0; i < command_count(); i++) {
			const command *c = command_at(i);
			char left[64];

			snprintf(left, sizeof left, "%s%s%s", c->name,
				 c->args_usage[0] ? " " : "", c->args_usage);
			out_printf("  %-28s %s\n", left, c->summary);
		}
		return TP_OK;
	}

	/* "help gmm" lists every gmm command; "help gmm step" shows one */
	{
		int shown = 0;
		const char *words[2] = { a->argv[0], a->argc > 1 ? a->argv[1] : NULL };

		for (int i = 0; i < command_count(); i++) {
			const command *c = command_at(i);
			int match = a->argc == 2 ? name_matches(c->name, 2, words)
				: strcmp(c->name, a->argv[0]) == 0 ||
				  (strncmp(c->name, a->argv[0], strlen(a->argv[0])) == 0 &&
				   c->name[strlen(a->argv[0])] == ' ');

			if (match) {
				if (shown++)
					out_printf("\n");
				print_command_help(c);
			}
		}
		if (!shown)
			return tp_fail(TP_ERR_VALUE, "help: unknown command '%s': type 'help' for the list",
				       a->argv[0]);
	}
	return TP_OK;
}

static tp_status cmd_echo(workbench *wb, const command *self, const cmd_args *a)
{
	for (int i = 0; i < a->argc; i++)
		out_printf("%s%s", i ? " " : "", a->argv[i]);
	out_printf("\n");
	return TP_OK;
}

/* repl_execute_line() ends the session on "quit" before dispatching it, so
 * dispatching it here does nothing. */
static tp_status cmd_quit(workbench *wb, const command *self, const cmd_args *a)
{
	return TP_OK;
}
