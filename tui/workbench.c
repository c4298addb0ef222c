#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"
#include "workbench.h"

void wb_init(workbench *wb)
{
	memset(wb, 0, sizeof *wb);
	train_config_defaults(&wb->config);
	wb->noise = NOISE_NONE;
}

void wb_free(workbench *wb)
{
	train_free(wb->run);
	dataset_free(wb->view);
	dataset_free(wb->base);
	free(wb->y_given);
	free(wb->results);
	memset(wb, 0, sizeof *wb);
}

int wb_drop_run(workbench *wb)
{
	int had_epochs = wb->run && (train_epochs_done(wb->run) > 0 || train_in_epoch(wb->run));

	train_free(wb->run);
	if (wb->run) {
		for (int i = 0; i < wb->n_observers; i++)
			if (wb->observers[i].on_run_reset)
				wb->observers[i].on_run_reset(wb, wb->observers[i].user);
	}
	wb->run = NULL;
	return had_epochs;
}

tp_status wb_set_data(workbench *wb, dataset *d)
{
	int *given = malloc((size_t)d->n_train * sizeof *given);

	if (!given) {
		dataset_free(d);
		return tp_fail(TP_ERR_NOMEM, "load: out of memory for %d labels", d->n_train);
	}
	memcpy(given, d->y_train, (size_t)d->n_train * sizeof *given);
	wb_drop_run(wb);
	dataset_free(wb->view);
	dataset_free(wb->base);
	free(wb->y_given);
	wb->base = d;
	wb->view = NULL;
	wb->data = d;
	wb->y_given = given;
	wb->noise = NOISE_NONE;
	wb->noise_rate = 0.0;
	wb->noise_chosen = 0;
	return TP_OK;
}

tp_status wb_set_view(workbench *wb, dataset *view, const int *given)
{
	const dataset *active = view ? view : wb->base;
	int *copy = malloc((size_t)active->n_train * sizeof *copy);

	if (!copy) {
		dataset_free(view);
		return tp_fail(TP_ERR_NOMEM, "noise: out of memory for %d labels", active->n_train);
	}
	memcpy(copy, given, (size_t)active->n_train * sizeof *copy);
	wb_drop_run(wb);
	if (wb->view != view)
		dataset_free(wb->view);
	wb->view = view;
	wb->data = view ? view : wb->base;
	free(wb->y_given);
	wb->y_given = copy;
	return TP_OK;
}

tp_status wb_ensure_run(workbench *wb)
{
	if (wb->run)
		return TP_OK;
	if (!wb->data)
		return tp_fail(TP_ERR_STATE, "no data set is loaded: run 'load fashion-mnist' or 'load features' first");
	return train_create(wb->data, wb->y_given, &wb->config, &wb->run);
}

void wb_record_result(workbench *wb)
{
	int n;
	const epoch_report *h = train_history(wb->run, &n);
	run_result *r;
	run_result *grown;

	if (n == 0)
		return;
	grown = realloc(wb->results, (size_t)(wb->n_results + 1) * sizeof *grown);
	if (!grown)
		return;
	wb->results = grown;
	r = &wb->results[wb->n_results++];
	memset(r, 0, sizeof *r);
	if (wb->config.method == METHOD_TWIN || wb->config.method == METHOD_SINGLE)
		snprintf(r->method, sizeof r->method, "%s/%s", train_method_name(wb->config.method),
			 selector_name((selector_kind)wb->config.selector));
	else
		snprintf(r->method, sizeof r->method, "%s", train_method_name(wb->config.method));
	if (wb->noise == NOISE_NONE)
		snprintf(r->noise, sizeof r->noise, "none");
	else
		snprintf(r->noise, sizeof r->noise, "%s %.2f", noise_kind_name(wb->noise), wb->noise_rate);
	r->epochs = h[n - 1].epoch;
	r->n_heads = train_n_heads(wb->run);
	memcpy(r->test_acc, h[n - 1].test_acc, sizeof r->test_acc);
	for (int k = 0; k < r->n_heads; k++)
		r->split[k] = h[n - 1].split[k].quality;
	/* the run's own time, over every train call that built it */
	r->seconds = 0.0;
	for (int e = 0; e < n; e++)
		r->seconds += h[e].seconds;
}

int wb_add_observer(workbench *wb, const wb_observer *o)
{
	if (wb->n_observers == WB_MAX_OBSERVERS)
		return -1;
	wb->observers[wb->n_observers++] = *o;
	return 0;
}

void wb_notify_command(workbench *wb, int argc, char **argv, unsigned flags, tp_status status)
{
	for (int i = 0; i < wb->n_observers; i++)
		if (wb->observers[i].on_command)
			wb->observers[i].on_command(wb, argc, argv, flags, status, wb->observers[i].user);
}

void wb_notify_epoch(workbench *wb, const epoch_report *r)
{
	for (int i = 0; i < wb->n_observers; i++)
		if (wb->observers[i].on_epoch)
			wb->observers[i].on_epoch(wb, r, wb->observers[i].user);
}
