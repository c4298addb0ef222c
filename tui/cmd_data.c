/* Commands that load data and change the given labels. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"

static void print_dataset(const dataset *d)
{
	out_printf("loaded %s: %d training and %d test samples, %d classes, %d-dim features\n",
		   d->name, d->n_train, d->n_test, d->n_classes, d->dim);
	out_printf("features: %s\n", d->encoder);
}

/* Reports that loading dropped the previous run, if there was one. */
static tp_status finish_load(workbench *wb, dataset *d)
{
	int had_run = wb->run && train_epochs_done(wb->run) > 0;
	tp_status st = wb_set_data(wb, d);

	if (st != TP_OK)
		return st;
	print_dataset(wb->data);
	if (had_run)
		out_printf("the previous run and its noise were dropped\n");
	return TP_OK;
}

tp_status cmd_load_fmnist(workbench *wb, const command *cmd, const cmd_args *a)
{
	fmnist_options o;
	long dim = 128, n_train = 0, n_test = 0, shots = 0, seed = 1;
	dataset *d;
	tp_status st;

	fmnist_options_default(&o);
	if ((st = cmd_int(cmd, a, "dim", 1, 784, &dim)) != TP_OK ||
	    (st = cmd_int(cmd, a, "train", 1, 60000, &n_train)) != TP_OK ||
	    (st = cmd_int(cmd, a, "test", 1, 10000, &n_test)) != TP_OK ||
	    (st = cmd_int(cmd, a, "shots", 1, 6000, &shots)) != TP_OK ||
	    (st = cmd_int(cmd, a, "seed", 0, 4294967295L, &seed)) != TP_OK)
		return st;
	o.dir = cmd_str(cmd, a, "dir");
	o.dim = (int)dim;
	o.n_train = (int)n_train;
	o.n_test = (int)n_test;
	o.shots = (int)shots;
	o.seed = (unsigned long)seed;

	st = dataset_load_fashion_mnist(&o, &d);
	if (st != TP_OK)
		return st;
	return finish_load(wb, d);
}

tp_status cmd_load_features(workbench *wb, const command *cmd, const cmd_args *a)
{
	features_options o;
	long shots = 0, seed = 1;
	dataset *d;
	tp_status st;

	features_options_default(&o);
	o.features = a->argv[0];
	o.labels = cmd_str(cmd, a, "labels");
	o.classes = cmd_str(cmd, a, "classes");
	o.test_features = cmd_str(cmd, a, "test-features");
	o.test_labels = cmd_str(cmd, a, "test-labels");
	o.text_features = cmd_str(cmd, a, "text-features");
	if (!o.labels)
		return tp_fail(TP_ERR_VALUE, "load features: --labels FILE is required: give the labels of the %s rows", o.features);
	if (!o.classes)
		return tp_fail(TP_ERR_VALUE, "load features: --classes FILE is required: give the class names, one per line");
	if (!o.test_features != !o.test_labels)
		return tp_fail(TP_ERR_VALUE, "load features: --test-features and --test-labels go together: give both or neither");
	if ((st = cmd_real(cmd, a, "test-ratio", 0.0, 1.0, &o.test_ratio)) != TP_OK ||
	    (st = cmd_int(cmd, a, "shots", 1, 1000000, &shots)) != TP_OK ||
	    (st = cmd_int(cmd, a, "seed", 0, 4294967295L, &seed)) != TP_OK)
		return st;
	o.shots = (int)shots;
	o.seed = (unsigned long)seed;

	st = dataset_load_features(&o, &d);
	if (st != TP_OK)
		return st;
	return finish_load(wb, d);
}

/* Makes labels (base->n_train, or view->n_train with a view) the given
 * labels and prints the outcome; takes ownership of view. */
static tp_status noise_install(workbench *wb, dataset *view, const int *given, const char *what)
{
	int had_run = wb->run && (train_epochs_done(wb->run) > 0 || train_in_epoch(wb->run));
	tp_status st = wb_set_view(wb, view, given);
	const dataset *d = wb->data;

	if (st != TP_OK)
		return st;
	if (had_run)
		out_printf("the run was reset: the given labels changed\n");
	out_printf("%s: realised noise rate %.4f over %d training samples\n", what,
		   noise_realised_rate(d->y_train, wb->y_given, d->n_train), d->n_train);
	return TP_OK;
}

static void noise_record(workbench *wb, noise_kind kind, double rate, long seed, int chosen)
{
	wb->noise = kind;
	wb->noise_rate = rate;
	wb->noise_seed = (unsigned long)seed;
	wb->noise_chosen = chosen;
	wb->noise_shots = 0;
	wb->noise_false = 0;
	wb->noise_file[0] = '\0';
}

tp_status cmd_noise_apply(workbench *wb, const command *cmd, const cmd_args *a)
{
	const char *kind_name = cmd->name + strlen("noise ");
	const dataset *base = wb->base;
	noise_kind kind;
	double rate;
	long seed = 1;
	int chosen = 0;
	int *given;
	char what[128];
	tp_status st;

	if (noise_kind_parse(kind_name, &kind) != 0)
		return tp_fail(TP_ERR_VALUE, "noise: unknown kind '%s'", kind_name);
	if ((st = parse_double("noise: RATE", a->argv[0], 0.0, 1.0, &rate)) != TP_OK ||
	    (st = cmd_int(cmd, a, "seed", 0, 4294967295L, &seed)) != TP_OK)
		return st;
	given = malloc((size_t)base->n_train * sizeof *given);
	if (!given)
		return tp_fail(TP_ERR_NOMEM, "noise: out of memory");
	if (kind == NOISE_IDN)
		st = noise_apply_idn(rate, (unsigned long)seed, base->x_train, base->dim, base->y_train,
				     base->n_train, base->n_classes, given, &chosen);
	else
		st = noise_apply(kind, rate, (unsigned long)seed, base->y_train, base->n_train,
				 base->n_classes, given, &chosen);
	if (st == TP_OK) {
		snprintf(what, sizeof what, "noise %s %g (seed %ld): %d of %d labels chosen",
			 kind_name, rate, seed, chosen, base->n_train);
		st = noise_install(wb, NULL, given, what);
	}
	free(given);
	if (st == TP_OK)
		noise_record(wb, kind, rate, seed, chosen);
	return st;
}

tp_status cmd_noise_fewshot(workbench *wb, const command *cmd, const cmd_args *a)
{
	const char *kind_name = cmd->name + strlen("noise ");
	const dataset *base = wb->base;
	noise_kind kind;
	long n_false, shots = 16, seed = 1;
	int *rows, *given;
	dataset *view = NULL;
	char what[160];
	tp_status st;

	noise_kind_parse(kind_name, &kind);
	if ((st = cmd_int(cmd, a, "shots", 1, 100000, &shots)) != TP_OK ||
	    (st = cmd_int(cmd, a, "seed", 0, 4294967295L, &seed)) != TP_OK ||
	    (st = parse_long("noise: FP", a->argv[0], 0, shots, &n_false)) != TP_OK)
		return st;
	rows = malloc((size_t)base->n_classes * (size_t)shots * sizeof *rows);
	given = malloc((size_t)base->n_classes * (size_t)shots * sizeof *given);
	if (!rows || !given) {
		free(rows);
		free(given);
		return tp_fail(TP_ERR_NOMEM, "noise: out of memory");
	}
	st = noise_fewshot(kind, (int)shots, (int)n_false, (unsigned long)seed, base->y_train,
			   base->n_train, base->n_classes, rows, given);
	if (st == TP_OK)
		st = dataset_subset(base, rows, base->n_classes * (int)shots, &view);
	if (st == TP_OK) {
		snprintf(what, sizeof what, "noise %s %ld (seed %ld): %ld shots per class, %ld of them from other classes",
			 kind_name, n_false, seed, shots, n_false);
		st = noise_install(wb, view, given, what);
	}
	free(rows);
	free(given);
	if (st != TP_OK)
		return st;
	noise_record(wb, kind, (double)n_false / (double)shots, seed, base->n_classes * (int)n_false);
	wb->noise_shots = (int)shots;
	wb->noise_false = (int)n_false;
	return TP_OK;
}

tp_status cmd_noise_matrix(workbench *wb, const command *cmd, const cmd_args *a)
{
	const dataset *base = wb->base;
	long seed = 1;
	double *matrix;
	int *given;
	char what[600];
	tp_status st;

	if ((st = cmd_int(cmd, a, "seed", 0, 4294967295L, &seed)) != TP_OK)
		return st;
	st = noise_read_matrix(a->argv[0], base->n_classes, &matrix);
	if (st != TP_OK)
		return st;
	given = malloc((size_t)base->n_train * sizeof *given);
	if (!given) {
		free(matrix);
		return tp_fail(TP_ERR_NOMEM, "noise matrix: out of memory");
	}
	st = noise_apply_matrix(matrix, (unsigned long)seed, base->y_train, base->n_train,
				base->n_classes, given);
	if (st == TP_OK) {
		snprintf(what, sizeof what, "noise matrix '%s' (seed %ld)", a->argv[0], seed);
		st = noise_install(wb, NULL, given, what);
	}
	free(matrix);
	free(given);
	if (st != TP_OK)
		return st;
	noise_record(wb, NOISE_MATRIX, noise_realised_rate(wb->data->y_train, wb->y_given, wb->data->n_train),
		     seed, 0);
	snprintf(wb->noise_file, sizeof wb->noise_file, "%s", a->argv[0]);
	return TP_OK;
}

/* Reads a label file for the training set: either one label per training
 * sample, or one per row of the source the training set was drawn from
 * (mapped through train_index). */
static tp_status read_training_labels(const dataset *d, const char *path, int **out)
{
	int *labels, n;
	int max_source = 0;
	tp_status st = dataset_read_labels(path, &labels, &n);

	if (st != TP_OK)
		return st;
	for (int i = 0; i < d->n_train; i++)
		if (d->train_index[i] > max_source)
			max_source = d->train_index[i];
	if (n != d->n_train && n <= max_source) {
		free(labels);
		return tp_fail(TP_ERR_SHAPE,
			       "noise labels: '%s' has %d labels: give one per training sample (%d) or one per source row (at least %d)",
			       path, n, d->n_train, max_source + 1);
	}
	if (n != d->n_train) {
		int *mapped = malloc((size_t)d->n_train * sizeof *mapped);

		if (!mapped) {
			free(labels);
			return tp_fail(TP_ERR_NOMEM, "noise labels: out of memory");
		}
		for (int i = 0; i < d->n_train; i++)
			mapped[i] = labels[d->train_index[i]];
		free(labels);
		labels = mapped;
	}
	for (int i = 0; i < d->n_train; i++) {
		if (labels[i] < 0 || labels[i] >= d->n_classes) {
			int bad = labels[i];

			free(labels);
			return tp_fail(TP_ERR_VALUE, "noise labels: '%s': label %d of sample %d is outside 0..%d",
				       path, bad, i, d->n_classes - 1);
		}
	}
	*out = labels;
	return TP_OK;
}

tp_status cmd_noise_labels(workbench *wb, const command *cmd, const cmd_args *a)
{
	const dataset *base = wb->base;
	const char *true_path = cmd_str(cmd, a, "true");
	int *given = NULL, *truth = NULL;
	dataset *view = NULL;
	char what[600];
	tp_status st;

	st = read_training_labels(base, a->argv[0], &given);
	if (st == TP_OK && true_path) {
		int *rows = malloc((size_t)base->n_train * sizeof *rows);

		st = read_training_labels(base, true_path, &truth);
		if (st == TP_OK && !rows)
			st = tp_fail(TP_ERR_NOMEM, "noise labels: out of memory");
		for (int i = 0; st == TP_OK && i < base->n_train; i++)
			rows[i] = i;
		/* the view is the whole training set with the truth replaced */
		if (st == TP_OK)
			st = dataset_subset(base, rows, base->n_train, &view);
		if (st == TP_OK)
			memcpy(view->y_train, truth, (size_t)base->n_train * sizeof *truth);
		free(rows);
	}
	if (st == TP_OK) {
		snprintf(what, sizeof what, "noise labels '%s'%s%s", a->argv[0],
			 true_path ? ", true labels from " : "", true_path ? true_path : "");
		st = noise_install(wb, view, given, what);
	} else {
		dataset_free(view);
	}
	free(given);
	free(truth);
	if (st != TP_OK)
		return st;
	noise_record(wb, NOISE_LABELS, noise_realised_rate(wb->data->y_train, wb->y_given, wb->data->n_train),
		     0, 0);
	snprintf(wb->noise_file, sizeof wb->noise_file, "%s", a->argv[0]);
	return TP_OK;
}

tp_status cmd_noise_show(workbench *wb, const command *cmd, const cmd_args *a)
{
	const dataset *d = wb->data;
	int C = d->n_classes;
	int *counts = malloc((size_t)C * (size_t)C * sizeof *counts);

	if (!counts)
		return tp_fail(TP_ERR_NOMEM, "noise show: out of memory");
	if (wb->noise == NOISE_NONE)
		out_printf("noise: none (given labels are the true labels)\n");
	else if (wb->noise == NOISE_FEWSHOT_SYM || wb->noise == NOISE_FEWSHOT_PAIR)
		out_printf("noise: %s %d, seed %lu: %d shots per class, %d of them from other classes\n",
			   noise_kind_name(wb->noise), wb->noise_false, wb->noise_seed, wb->noise_shots,
			   wb->noise_false);
	else if (wb->noise == NOISE_MATRIX || wb->noise == NOISE_LABELS)
		out_printf("noise: %s from '%s'\n", noise_kind_name(wb->noise), wb->noise_file);
	else
		out_printf("noise: %s %g, seed %lu, %d of %d labels chosen\n",
			   noise_kind_name(wb->noise), wb->noise_rate, wb->noise_seed,
			   wb->noise_chosen, d->n_train);
	out_printf("realised noise rate: %.4f\n", noise_realised_rate(d->y_train, wb->y_given, d->n_train));

	/* the transition matrix as row fractions, with counts per row */
	noise_transition(d->y_train, wb->y_given, d->n_train, C, counts);
	out_printf("transition matrix (rows: true class, columns: given label, fraction of the row):\n");
	out_printf("%-16s", "true \\ given");
	for (int g = 0; g < C && C <= 20; g++)
		out_printf(" %5d", g);
	out_printf("   samples\n");
	for (int t = 0; t < C; t++) {
		long row = 0;

		for (int g = 0; g < C; g++)
			row += counts[t * C + g];
		out_printf("%2d %-13.13s", t, d->class_names[t]);
		for (int g = 0; g < C && C <= 20; g++)
			out_printf(" %5.3f", row ? (double)counts[t * C + g] / (double)row : 0.0);
		out_printf("   %7ld\n", row);
	}
	if (C > 20)
		out_printf("(the matrix has %d columns; only row totals are shown)\n", C);
	free(counts);
	return TP_OK;
}

tp_status cmd_noise_clear(workbench *wb, const command *cmd, const cmd_args *a)
{
	int had_run = wb->run && (train_epochs_done(wb->run) > 0 || train_in_epoch(wb->run));
	tp_status st = wb_set_view(wb, NULL, wb->base->y_train);

	if (st != TP_OK)
		return st;
	noise_record(wb, NOISE_NONE, 0.0, 0, 0);
	if (had_run)
		out_printf("the run was reset: the given labels changed\n");
	out_printf("noise cleared: given labels are the true labels\n");
	return TP_OK;
}
