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

tp_status cmd_noise_apply(workbench *wb, const command *cmd, const cmd_args *a)
{
	const char *kind_name = cmd->name + strlen("noise ");
	noise_kind kind;
	double rate;
	long seed = 1;
	int chosen;
	tp_status st;

	if (noise_kind_parse(kind_name, &kind) != 0)
		return tp_fail(TP_ERR_VALUE, "noise: unknown kind '%s'", kind_name);
	if ((st = parse_double("noise: RATE", a->argv[0], 0.0, 1.0, &rate)) != TP_OK ||
	    (st = cmd_int(cmd, a, "seed", 0, 4294967295L, &seed)) != TP_OK)
		return st;

	st = noise_apply(kind, rate, (unsigned long)seed, wb->data->y_train, wb->data->n_train,
			 wb->data->n_classes, wb->y_given, &chosen);
	if (st != TP_OK)
		return st;
	wb->noise = kind;
	wb->noise_rate = rate;
	wb->noise_seed = (unsigned long)seed;
	wb->noise_chosen = chosen;
	if (wb_drop_run(wb))
		out_printf("the run was reset: the given labels changed\n");
	out_printf("noise %s %g (seed %ld): %d of %d labels chosen, realised noise rate %.4f\n",
		   kind_name, rate, seed, chosen, wb->data->n_train,
		   noise_realised_rate(wb->data->y_train, wb->y_given, wb->data->n_train));
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
	memcpy(wb->y_given, wb->data->y_train, (size_t)wb->data->n_train * sizeof *wb->y_given);
	wb->noise = NOISE_NONE;
	wb->noise_rate = 0.0;
	wb->noise_chosen = 0;
	if (wb_drop_run(wb))
		out_printf("the run was reset: the given labels changed\n");
	out_printf("noise cleared: given labels are the true labels\n");
	return TP_OK;
}
