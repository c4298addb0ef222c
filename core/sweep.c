#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "files.h"
#include "selector.h"
#include "sweep.h"

#define RUNS_HEADER "noise,rate,method,selector,seed,epochs,accuracy,f1,seconds"

static int uses_selector(train_method m)
{
	return m == METHOD_TWIN || m == METHOD_SINGLE;
}

/* Splits list at commas into at most max items, calling parse on each. */
static tp_status parse_list(const char *list, const char *what, int max, int *count,
			    tp_status (*parse)(const char *item, int index, void *out), void *out)
{
	char *copy = strdup(list);
	char *save = NULL;
	int n = 0;
	tp_status st = TP_OK;

	if (!copy)
		return tp_fail(TP_ERR_NOMEM, "sweep: out of memory");
	for (char *item = strtok_r(copy, ", \t", &save); item && st == TP_OK;
	     item = strtok_r(NULL, ", \t", &save)) {
		if (n == max) {
			st = tp_fail(TP_ERR_VALUE, "sweep: more than %d %s: split the sweep", max, what);
			break;
		}
		st = parse(item, n, out);
		n++;
	}
	free(copy);
	if (st == TP_OK && n == 0)
		return tp_fail(TP_ERR_VALUE, "sweep: the %s list '%s' is empty", what, list);
	if (st == TP_OK)
		*count = n;
	return st;
}

static tp_status parse_method_item(const char *item, int index, void *out)
{
	sweep_grid *g = out;

	if (train_method_parse(item, &g->methods[index]) != 0)
		return tp_fail(TP_ERR_VALUE, "sweep: unknown method '%s': choose from ce, gce, ls, twin, single", item);
	return TP_OK;
}

static tp_status parse_selector_item(const char *item, int index, void *out)
{
	sweep_grid *g = out;
	selector_kind k;

	if (selector_parse(item, &k) != 0)
		return tp_fail(TP_ERR_VALUE,
			       "sweep: unknown selector '%s': choose from gmm, gmm-class, joapr, ot, small-loss, oracle", item);
	g->selectors[index] = (int)k;
	return TP_OK;
}

static tp_status parse_seed_item(const char *item, int index, void *out)
{
	sweep_grid *g = out;
	char *end;
	long v;

	errno = 0;
	v = strtol(item, &end, 10);
	if (end == item || *end || errno || v < 0)
		return tp_fail(TP_ERR_VALUE, "sweep: seed '%s' is not a non-negative integer", item);
	g->seeds[index] = (unsigned long)v;
	return TP_OK;
}

tp_status sweep_parse_methods(sweep_grid *g, const char *list)
{
	return parse_list(list, "methods", SWEEP_MAX_ITEMS, &g->n_methods, parse_method_item, g);
}

tp_status sweep_parse_selectors(sweep_grid *g, const char *list)
{
	return parse_list(list, "selectors", SWEEP_MAX_ITEMS, &g->n_selectors, parse_selector_item, g);
}

tp_status sweep_parse_seeds(sweep_grid *g, const char *list)
{
	return parse_list(list, "seeds", SWEEP_MAX_ITEMS, &g->n_seeds, parse_seed_item, g);
}

tp_status sweep_parse_noise(sweep_grid *g, const char *spec)
{
	char *copy = strdup(spec);
	char *save = NULL;
	int n = 0;
	tp_status st = TP_OK;

	if (!copy)
		return tp_fail(TP_ERR_NOMEM, "sweep: out of memory");
	for (char *group = strtok_r(copy, " \t;", &save); group && st == TP_OK;
	     group = strtok_r(NULL, " \t;", &save)) {
		char *colon = strchr(group, ':');
		char *rsave = NULL;
		noise_kind kind;

		if (!colon) {
			st = tp_fail(TP_ERR_VALUE, "sweep: noise '%s' has no rates: write KIND:RATE,RATE (sym:0.2,0.5)", group);
			break;
		}
		*colon = '\0';
		if (noise_kind_parse(group, &kind) != 0 ||
		    !(kind == NOISE_SYM || kind == NOISE_SYM_INCL || kind == NOISE_PAIR || kind == NOISE_IDN)) {
			st = tp_fail(TP_ERR_VALUE, "sweep: noise kind '%s' cannot be swept: use sym, sym-incl, pair or idn", group);
			break;
		}
		for (char *r = strtok_r(colon + 1, ",", &rsave); r && st == TP_OK; r = strtok_r(NULL, ",", &rsave)) {
			char *end;
			double rate;

			errno = 0;
			rate = strtod(r, &end);
			if (end == r || *end || errno || !(rate >= 0.0 && rate <= 1.0))
				st = tp_fail(TP_ERR_VALUE, "sweep: noise rate '%s' is not a number in [0, 1]", r);
			else if (n == SWEEP_MAX_ITEMS)
				st = tp_fail(TP_ERR_VALUE, "sweep: more than %d noise settings: split the sweep", SWEEP_MAX_ITEMS);
			else {
				g->noise[n].kind = kind;
				g->noise[n].rate = rate;
				n++;
			}
		}
	}
	free(copy);
	if (st == TP_OK && n == 0)
		st = tp_fail(TP_ERR_VALUE, "sweep: the noise list '%s' is empty", spec);
	if (st == TP_OK)
		g->n_noise = n;
	return st;
}

tp_status sweep_read_file(sweep_grid *g, const char *path, int *epochs)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0;
	tp_status st = TP_OK;

	if (!f)
		return tp_fail(TP_ERR_IO, "sweep: cannot open grid file '%s': %s", path, strerror(errno));
	while (st == TP_OK && getline(&line, &cap, f) >= 0) {
		char *p = line + strspn(line, " \t");
		char *rest;

		lineno++;
		p[strcspn(p, "#\r\n")] = '\0';
		if (*p == '\0')
			continue;
		rest = p + strcspn(p, " \t");
		if (*rest)
			*rest++ = '\0';
		rest += strspn(rest, " \t");
		if (strcmp(p, "noise") == 0)
			st = sweep_parse_noise(g, rest);
		else if (strcmp(p, "methods") == 0)
			st = sweep_parse_methods(g, rest);
		else if (strcmp(p, "selectors") == 0)
			st = sweep_parse_selectors(g, rest);
		else if (strcmp(p, "seeds") == 0)
			st = sweep_parse_seeds(g, rest);
		else if (strcmp(p, "epochs") == 0) {
			char *end;
			long e = strtol(rest, &end, 10);

			if (end == rest || e < 1 || e > 100000)
				st = tp_fail(TP_ERR_VALUE, "sweep: '%s' line %d: epochs '%s' is not an integer from 1 to 100000",
					     path, lineno, rest);
			else
				*epochs = (int)e;
		} else {
			st = tp_fail(TP_ERR_VALUE, "sweep: '%s' line %d: unknown key '%s': use noise, methods, selectors, seeds or epochs",
				     path, lineno, p);
		}
		if (st != TP_OK && !strstr(tp_last_error(), path)) {
			char msg[1024];

			snprintf(msg, sizeof msg, "%s", tp_last_error());
			st = tp_fail(st, "'%s' line %d: %s", path, lineno, msg);
		}
	}
	free(line);
	fclose(f);
	return st;
}

int sweep_count(const sweep_grid *g)
{
	int per_seed = 0;

	for (int m = 0; m < g->n_methods; m++)
		per_seed += uses_selector(g->methods[m]) ? g->n_selectors : 1;
	return g->n_noise * per_seed * g->n_seeds;
}

static int same_point(const sweep_result *a, const sweep_result *b)
{
	return a->noise.kind == b->noise.kind && fabs(a->noise.rate - b->noise.rate) < 1e-9 &&
	       a->method == b->method && a->selector == b->selector && a->seed == b->seed &&
	       a->epochs == b->epochs;
}

tp_status sweep_read_runs(const char *path, sweep_result **results, int *n)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int count = 0, room = 0, lineno = 0;
	sweep_result *r = NULL;
	tp_status st = TP_OK;

	*results = NULL;
	*n = 0;
	if (!f)
		return tp_fail(TP_ERR_IO, "sweep: cannot open runs file '%s': %s", path, strerror(errno));
	while (st == TP_OK && getline(&line, &cap, f) >= 0) {
		char kind[32], method[32], selector[32];
		sweep_result x;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (lineno == 1) {
			if (strcmp(line, RUNS_HEADER) != 0)
				st = tp_fail(TP_ERR_FORMAT, "sweep: '%s' is not a runs file (its first line is not '%s'): choose another --out",
					     path, RUNS_HEADER);
			continue;
		}
		if (line[0] == '\0')
			continue;
		memset(&x, 0, sizeof x);
		if (sscanf(line, "%31[^,],%lf,%31[^,],%31[^,],%lu,%d,%lf,%lf,%lf", kind, &x.noise.rate, method,
			   selector, &x.seed, &x.epochs, &x.accuracy, &x.f1, &x.seconds) != 9 ||
		    noise_kind_parse(kind, &x.noise.kind) != 0 || train_method_parse(method, &x.method) != 0) {
			/* a line cut short by an interruption is dropped, not fatal */
			tp_log(TP_LOG_WARN, "sweep: '%s' line %d is incomplete and is ignored", path, lineno);
			continue;
		}
		if (strcmp(selector, "-") == 0) {
			x.selector = -1;
		} else {
			selector_kind k;

			if (selector_parse(selector, &k) != 0) {
				tp_log(TP_LOG_WARN, "sweep: '%s' line %d names unknown selector '%s' and is ignored",
				       path, lineno, selector);
				continue;
			}
			x.selector = (int)k;
		}
		if (count == room) {
			sweep_result *grown;

			room = room ? 2 * room : 64;
			grown = realloc(r, (size_t)room * sizeof *r);
			if (!grown) {
				st = tp_fail(TP_ERR_NOMEM, "sweep: out of memory");
				break;
			}
			r = grown;
		}
		r[count++] = x;
	}
	free(line);
	fclose(f);
	if (st != TP_OK) {
		free(r);
		return st;
	}
	*results = r;
	*n = count;
	return TP_OK;
}

static tp_status append_run(const char *path, const sweep_result *r)
{
	FILE *f = fopen(path, "a");

	if (!f)
		return tp_fail(TP_ERR_IO, "sweep: cannot append to '%s': %s", path, strerror(errno));
	fprintf(f, "%s,%.6g,%s,%s,%lu,%d,%.6f,%.6f,%.3f\n", noise_kind_name(r->noise.kind), r->noise.rate,
		train_method_name(r->method), r->selector < 0 ? "-" : selector_name((selector_kind)r->selector),
		r->seed, r->epochs, r->accuracy, r->f1, r->seconds);
	if (fclose(f) != 0)
		return tp_fail(TP_ERR_IO, "sweep: writing '%s' failed: %s", path, strerror(errno));
	return TP_OK;
}

/* Trains one grid point and fills r's figures. */
static tp_status run_point(const dataset *data, const train_config *base, sweep_result *r,
			   const sweep_hooks *hooks)
{
	int *given = malloc((size_t)data->n_train * sizeof *given);
	train_hooks th = { NULL, hooks ? hooks->should_stop : NULL, NULL, hooks ? hooks->user : NULL };
	train_config cfg = *base;
	trainer *t = NULL;
	struct timespec t0, t1;
	tp_status st;

	if (!given)
		return tp_fail(TP_ERR_NOMEM, "sweep: out of memory");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (r->noise.kind == NOISE_IDN)
		st = noise_apply_idn(r->noise.rate, r->seed, data->x_train, data->dim, data->y_train,
				     data->n_train, data->n_classes, given, NULL);
	else
		st = noise_apply(r->noise.kind, r->noise.rate, r->seed, data->y_train, data->n_train,
				 data->n_classes, given, NULL);
	cfg.method = r->method;
	cfg.selector = r->selector < 0 ? cfg.selector : r->selector;
	cfg.seed = r->seed;
	cfg.epochs = r->epochs;
	if (st == TP_OK)
		st = train_create(data, given, &cfg, &t);
	if (st == TP_OK)
		st = train_run(t, 0, &th);
	if (st == TP_OK) {
		int n;
		const epoch_report *h = train_history(t, &n);
		const epoch_report *last = &h[n - 1];

		r->accuracy = r->method == METHOD_TWIN ? last->test_acc[2] : last->test_acc[0];
		r->f1 = last->split[0].quality.f1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		r->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
		if (hooks && hooks->on_trained)
			hooks->on_trained(r, t, given, &cfg, hooks->user);
	}
	train_free(t);
	free(given);
	return st;
}

tp_status sweep_run(const dataset *data, const train_config *base, int epochs,
		    const sweep_grid *g, const char *runs_path, const sweep_hooks *hooks)
{
	sweep_result *done = NULL;
	int n_done = 0, index = 0, total = sweep_count(g);
	FILE *probe = fopen(runs_path, "r");
	tp_status st = TP_OK;

	if (total == 0)
		return tp_fail(TP_ERR_VALUE, "sweep: the grid is empty: give noise, methods and seeds");
	if (probe) {
		fclose(probe);
		st = sweep_read_runs(runs_path, &done, &n_done);
		if (st != TP_OK)
			return st;
	} else {
		FILE *f;

		files_make_parents(runs_path);
		f = fopen(runs_path, "w");

		if (!f)
			return tp_fail(TP_ERR_IO, "sweep: cannot create '%s': %s", runs_path, strerror(errno));
		fprintf(f, "%s\n", RUNS_HEADER);
		if (fclose(f) != 0)
			return tp_fail(TP_ERR_IO, "sweep: writing '%s' failed: %s", runs_path, strerror(errno));
	}

	for (int a = 0; a < g->n_noise && st == TP_OK; a++)
	for (int m = 0; m < g->n_methods && st == TP_OK; m++)
	for (int s = 0; s < (uses_selector(g->methods[m]) ? g->n_selectors : 1) && st == TP_OK; s++)
	for (int k = 0; k < g->n_seeds && st == TP_OK; k++, index++) {
		sweep_result r;
		int skipped = 0;

		memset(&r, 0, sizeof r);
		r.noise = g->noise[a];
		r.method = g->methods[m];
		r.selector = uses_selector(r.method) ? g->selectors[s] : -1;
		r.seed = g->seeds[k];
		r.epochs = epochs;
		for (int j = 0; j < n_done && !skipped; j++) {
			if (same_point(&done[j], &r)) {
				r = done[j];
				skipped = 1;
			}
		}
		if (!skipped) {
			if (hooks && hooks->on_start)
				hooks->on_start(index, total, &r, hooks->user);
			st = run_point(data, base, &r, hooks);
			if (st == TP_OK)
				st = append_run(runs_path, &r);
			if (st == TP_ERR_INTERRUPTED)
				st = tp_fail(TP_ERR_INTERRUPTED,
					     "sweep: interrupted at run %d of %d: run the same sweep again to continue",
					     index + 1, total);
		}
		if (st == TP_OK && hooks && hooks->on_done)
			hooks->on_done(index, total, &r, skipped, hooks->user);
	}
	free(done);
	return st;
}

int sweep_cell(const sweep_result *results, int n, train_method method, int selector,
	       sweep_noise noise, int epochs, double *acc_mean, double *acc_std,
	       double *f1_mean, double *f1_std)
{
	double sa = 0.0, sf = 0.0, qa = 0.0, qf = 0.0;
	int count = 0;

	for (int i = 0; i < n; i++) {
		const sweep_result *r = &results[i];

		if (r->method != method || r->selector != selector || r->noise.kind != noise.kind ||
		    fabs(r->noise.rate - noise.rate) > 1e-9 || r->epochs != epochs)
			continue;
		sa += r->accuracy;
		sf += r->f1;
		count++;
	}
	*acc_mean = count ? sa / count : NAN;
	*f1_mean = count ? sf / count : NAN;
	for (int i = 0; i < n && count > 1; i++) {
		const sweep_result *r = &results[i];

		if (r->method != method || r->selector != selector || r->noise.kind != noise.kind ||
		    fabs(r->noise.rate - noise.rate) > 1e-9 || r->epochs != epochs)
			continue;
		qa += (r->accuracy - *acc_mean) * (r->accuracy - *acc_mean);
		qf += (r->f1 - *f1_mean) * (r->f1 - *f1_mean);
	}
	*acc_std = count > 1 ? sqrt(qa / (count - 1)) : NAN;
	*f1_std = count > 1 ? sqrt(qf / (count - 1)) : NAN;
	return count;
}

/* The table's row name, "ce" or "twin/gmm". */
static void row_name(train_method m, int selector, char *buf, size_t size)
{
	if (selector < 0)
		snprintf(buf, size, "%s", train_method_name(m));
	else
		snprintf(buf, size, "%s/%s", train_method_name(m), selector_name((selector_kind)selector));
}

static void format_cell(char *buf, size_t size, double mean, double std)
{
	if (isnan(mean))
		snprintf(buf, size, "-");
	else if (isnan(std))
		snprintf(buf, size, "%.4f", mean);
	else
		snprintf(buf, size, "%.4f ± %.4f", mean, std);
}

static void write_markdown_table(FILE *f, const sweep_grid *g, int epochs, const sweep_result *results,
				 int n, int f1)
{
	fprintf(f, "| method |");
	for (int a = 0; a < g->n_noise; a++)
		fprintf(f, " %s %.2f |", noise_kind_name(g->noise[a].kind), g->noise[a].rate);
	fprintf(f, "\n|---|");
	for (int a = 0; a < g->n_noise; a++)
		fprintf(f, "---|");
	fprintf(f, "\n");
	for (int m = 0; m < g->n_methods; m++) {
		int n_rows = uses_selector(g->methods[m]) ? g->n_selectors : 1;

		for (int s = 0; s < n_rows; s++) {
			int selector = uses_selector(g->methods[m]) ? g->selectors[s] : -1;
			char name[64];

			row_name(g->methods[m], selector, name, sizeof name);
			fprintf(f, "| %s |", name);
			for (int a = 0; a < g->n_noise; a++) {
				double am, as, fm, fs;
				char cell[48];

				sweep_cell(results, n, g->methods[m], selector, g->noise[a], epochs, &am, &as, &fm, &fs);
				format_cell(cell, sizeof cell, f1 ? fm : am, f1 ? fs : as);
				fprintf(f, " %s |", cell);
			}
			fprintf(f, "\n");
		}
	}
}

tp_status sweep_write_table(const sweep_grid *g, int epochs, const sweep_result *results, int n,
			    const char *csv_path, const char *md_path)
{
	if (csv_path) {
		FILE *f;

		files_make_parents(csv_path);
		f = fopen(csv_path, "w");

		if (!f)
			return tp_fail(TP_ERR_IO, "sweep: cannot write '%s': %s", csv_path, strerror(errno));
		fprintf(f, "row,noise,rate,n,acc_mean,acc_std,f1_mean,f1_std\n");
		for (int m = 0; m < g->n_methods; m++) {
			int n_rows = uses_selector(g->methods[m]) ? g->n_selectors : 1;

			for (int s = 0; s < n_rows; s++) {
				int selector = uses_selector(g->methods[m]) ? g->selectors[s] : -1;
				char name[64];

				row_name(g->methods[m], selector, name, sizeof name);
				for (int a = 0; a < g->n_noise; a++) {
					double am, as, fm, fs;
					int count = sweep_cell(results, n, g->methods[m], selector, g->noise[a], epochs,
							       &am, &as, &fm, &fs);

					fprintf(f, "%s,%s,%g,%d,%.6f,%.6f,%.6f,%.6f\n", name,
						noise_kind_name(g->noise[a].kind), g->noise[a].rate, count, am, as, fm, fs);
				}
			}
		}
		if (fclose(f) != 0)
			return tp_fail(TP_ERR_IO, "sweep: writing '%s' failed: %s", csv_path, strerror(errno));
	}
	if (md_path) {
		FILE *f;

		files_make_parents(md_path);
		f = fopen(md_path, "w");

		if (!f)
			return tp_fail(TP_ERR_IO, "sweep: cannot write '%s': %s", md_path, strerror(errno));
		sweep_write_markdown(f, g, epochs, results, n);
		if (fclose(f) != 0)
			return tp_fail(TP_ERR_IO, "sweep: writing '%s' failed: %s", md_path, strerror(errno));
	}
	return TP_OK;
}

void sweep_write_markdown(FILE *f, const sweep_grid *g, int epochs, const sweep_result *results, int n)
{
	fprintf(f, "Final test accuracy (ensemble for twin, head A otherwise), mean ± standard deviation over seeds, %d epochs:\n\n",
		epochs);
	write_markdown_table(f, g, epochs, results, n, 0);
	fprintf(f, "\nSplit F1 of head A at the last epoch (noisy class against the truth):\n\n");
	write_markdown_table(f, g, epochs, results, n, 1);
}
