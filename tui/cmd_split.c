/* Commands on the clean/noisy split: stepping the GMM and inspecting it. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "files.h"
#include "output.h"
#include "selector.h"

/* Resolves --head to 0 or 1 and makes sure the run has that head. */
static tp_status pick_head(workbench *wb, const command *cmd, const cmd_args *a, int *k)
{
	const char *h = cmd_str(cmd, a, "head");
	tp_status st = wb_ensure_run(wb);

	if (st != TP_OK)
		return st;
	*k = h && strcmp(h, "B") == 0;
	if (*k >= train_n_heads(wb->run))
		return tp_fail(TP_ERR_STATE, "%s: head B exists only with method twin: use --head A or 'method twin'",
			       cmd->name);
	return TP_OK;
}

/* Fetches head k's GMM, failing when it contains no losses yet. */
static tp_status fitted_gmm(workbench *wb, const command *cmd, int k, gmm **g)
{
	*g = train_gmm(wb->run, k);
	if ((*g)->n != wb->data->n_train)
		return tp_fail(TP_ERR_STATE, "%s: head %c has no GMM yet: run 'gmm init%s' or train an epoch first",
			       cmd->name, 'A' + k, k ? " --head B" : "");
	return TP_OK;
}

static int count_clean(const gmm *g, double tau)
{
	double *p = malloc((size_t)g->n * sizeof *p);
	int n = 0;

	if (!p)
		return -1;
	gmm_clean_prob(g, p);
	for (int i = 0; i < g->n; i++)
		n += p[i] >= tau;
	free(p);
	return n;
}

/* Writes the split head k trains on: the selector's clean probabilities,
 * or the GMM's posterior before the first epoch's fit. */
static void split_prob(workbench *wb, int k, const gmm *g, double *p)
{
	const double *sp = train_split_prob(wb->run, k);

	if (sp)
		memcpy(p, sp, (size_t)g->n * sizeof *p);
	else
		gmm_clean_prob(g, p);
}

static void print_gmm(const workbench *wb, int k, const gmm *g)
{
	int clean = gmm_clean_component(g);
	int noisy = 1 - clean;

	out_printf("GMM of head %c: %d losses (raw range %.4f .. %.4f), iteration %d%s\n",
		   'A' + k, g->n, g->loss_min, g->loss_max, g->iter,
		   g->degenerate ? ", all losses equal: every sample is clean"
				 : g->converged ? ", converged" : "");
	out_printf("  component      mean  variance  weight\n");
	out_printf("  clean      %8.4f  %8.5f  %6.3f\n", g->mean[clean], g->var[clean], g->weight[clean]);
	out_printf("  noisy      %8.4f  %8.5f  %6.3f\n", g->mean[noisy], g->var[noisy], g->weight[noisy]);
	if (isnan(g->prev_loglik))
		out_printf("  log-likelihood %.6f (mean per sample)\n", g->loglik);
	else
		out_printf("  log-likelihood %.6f (mean per sample, change %+.6f)\n", g->loglik,
			   g->loglik - g->prev_loglik);
	out_printf("  predicted clean (p >= %.2f): %d of %d\n", wb->config.tau,
		   count_clean(g, wb->config.tau), g->n);
}

static void sync_gmm_settings(workbench *wb, gmm *g)
{
	g->reg_covar = wb->config.gmm_reg_covar;
	g->tol = wb->config.gmm_tol;
	g->max_iter = wb->config.gmm_max_iter;
}

tp_status cmd_gmm_init(workbench *wb, const command *cmd, const cmd_args *a)
{
	int k;
	tp_status st = pick_head(wb, cmd, a, &k);

	if (st == TP_OK)
		st = train_gmm_init(wb->run, k);
	if (st != TP_OK)
		return st;
	print_gmm(wb, k, train_gmm(wb->run, k));
	return TP_OK;
}

tp_status cmd_gmm_step(workbench *wb, const command *cmd, const cmd_args *a)
{
	long n = 1;
	int k;
	gmm *g;
	tp_status st = pick_head(wb, cmd, a, &k);

	if (st == TP_OK && a->argc == 1)
		st = parse_long("gmm step: N", a->argv[0], 1, 100000, &n);
	if (st == TP_OK)
		st = fitted_gmm(wb, cmd, k, &g);
	if (st != TP_OK)
		return st;
	sync_gmm_settings(wb, g);
	for (long i = 0; i < n; i++) {
		int clean;

		st = gmm_step(g);
		if (st != TP_OK)
			return st;
		clean = gmm_clean_component(g);
		out_printf("iteration %3d: mean %.4f/%.4f  var %.5f/%.5f  weight %.3f/%.3f  loglik %.6f (%+.6f)%s\n",
			   g->iter, g->mean[clean], g->mean[1 - clean], g->var[clean], g->var[1 - clean],
			   g->weight[clean], g->weight[1 - clean], g->loglik,
			   isnan(g->prev_loglik) ? 0.0 : g->loglik - g->prev_loglik,
			   g->converged ? "  converged" : "");
		if (g->degenerate)
			break;
	}
	out_printf("(clean/noisy component; 'gmm show' for the full state)\n");
	return TP_OK;
}

tp_status cmd_gmm_fit(workbench *wb, const command *cmd, const cmd_args *a)
{
	int k;
	gmm *g;
	tp_status st = pick_head(wb, cmd, a, &k);

	if (st == TP_OK)
		st = fitted_gmm(wb, cmd, k, &g);
	if (st != TP_OK)
		return st;
	sync_gmm_settings(wb, g);
	st = gmm_fit(g);
	if (st != TP_OK)
		return st;
	print_gmm(wb, k, g);
	return TP_OK;
}

tp_status cmd_gmm_show(workbench *wb, const command *cmd, const cmd_args *a)
{
	int k;
	gmm *g;
	tp_status st = pick_head(wb, cmd, a, &k);

	if (st == TP_OK)
		st = fitted_gmm(wb, cmd, k, &g);
	if (st != TP_OK)
		return st;
	print_gmm(wb, k, g);
	return TP_OK;
}

tp_status cmd_split_show(workbench *wb, const command *cmd, const cmd_args *a)
{
	int k;
	gmm *g;
	double *p;
	split_quality q;
	char b[5][16];
	tp_status st = pick_head(wb, cmd, a, &k);

	if (st == TP_OK)
		st = fitted_gmm(wb, cmd, k, &g);
	if (st != TP_OK)
		return st;
	p = malloc((size_t)g->n * sizeof *p);
	if (!p)
		return tp_fail(TP_ERR_NOMEM, "split show: out of memory");
	split_prob(wb, k, g, p);
	metrics_split_quality(p, g->loss, train_given_labels(wb->run), wb->data->y_train, g->n,
			      wb->config.tau, &q);
	free(p);

	out_printf("split of head %c (selector %s, GMM iteration %d, clean when p >= %.2f):\n", 'A' + k,
		   selector_name((selector_kind)wb->config.selector), g->iter, wb->config.tau);
	out_printf("                   actually clean  actually noisy\n");
	out_printf("  predicted clean  %14d  %14d\n", q.true_neg, q.false_neg);
	out_printf("  predicted noisy  %14d  %14d\n", q.false_pos, q.true_pos);
	out_printf("noisy class: precision %s  recall %s  F1 %s\n",
		   out_num(b[0], 16, q.precision, 4), out_num(b[1], 16, q.recall, 4), out_num(b[2], 16, q.f1, 4));
	out_printf("AUROC for the noisy class: of 1 - p %s, of the raw loss %s\n",
		   out_num(b[3], 16, q.auroc_posterior, 4), out_num(b[4], 16, q.auroc_loss, 4));
	return TP_OK;
}

typedef struct suspect {
	int index;
	double p;
	double loss;
} suspect;

/* Most suspect first: lowest clean probability, then highest loss. */
static int suspect_cmp(const void *x, const void *y)
{
	const suspect *a = x, *b = y;

	if (a->p != b->p)
		return a->p < b->p ? -1 : 1;
	if (a->loss != b->loss)
		return a->loss > b->loss ? -1 : 1;
	return a->index - b->index;
}

tp_status cmd_split_top(workbench *wb, const command *cmd, const cmd_args *a)
{
	long n = 10;
	int k, m = 0;
	gmm *g;
	double *p;
	suspect *s;
	const int *given;
	const dataset *d = wb->data;
	int noisy_only = cmd_has(cmd, a, "noisy-only");
	tp_status st = pick_head(wb, cmd, a, &k);

	if (st == TP_OK && a->argc == 1)
		st = parse_long("split top: N", a->argv[0], 1, 1000000, &n);
	if (st == TP_OK)
		st = fitted_gmm(wb, cmd, k, &g);
	if (st != TP_OK)
		return st;
	p = malloc((size_t)g->n * sizeof *p);
	s = malloc((size_t)g->n * sizeof *s);
	if (!p || !s) {
		free(p);
		free(s);
		return tp_fail(TP_ERR_NOMEM, "split top: out of memory");
	}
	given = train_given_labels(wb->run);
	split_prob(wb, k, g, p);
	for (int i = 0; i < g->n; i++) {
		if (noisy_only && given[i] == d->y_train[i])
			continue;
		s[m].index = i;
		s[m].p = p[i];
		s[m].loss = g->loss[i];
		m++;
	}
	qsort(s, (size_t)m, sizeof *s, suspect_cmp);

	out_printf("most suspect samples of head %c (lowest clean probability first):\n", 'A' + k);
	out_printf("  index  source   given                true                 p_clean    loss\n");
	for (int j = 0; j < m && j < n; j++) {
		int i = s[j].index;

		out_printf("%7d  %6d   %-2d %-17.17s %-2d %-17.17s %7.4f  %6.3f%s\n", i, d->train_index[i],
			   given[i], d->class_names[given[i]], d->y_train[i], d->class_names[d->y_train[i]],
			   s[j].p, s[j].loss, given[i] != d->y_train[i] ? "  noisy" : "");
	}
	free(p);
	free(s);
	return TP_OK;
}

tp_status cmd_export_split(workbench *wb, const command *cmd, const cmd_args *a)
{
	const char *path = a->argv[0];
	const dataset *d = wb->data;
	int n_heads;
	double *p[2] = { NULL, NULL };
	gmm *g[2];
	const int *given;
	FILE *f;
	tp_status st = wb_ensure_run(wb);

	if (st != TP_OK)
		return st;
	n_heads = train_n_heads(wb->run);
	for (int k = 0; k < n_heads; k++) {
		st = fitted_gmm(wb, cmd, k, &g[k]);
		if (st != TP_OK)
			return st;
	}
	for (int k = 0; k < n_heads; k++) {
		p[k] = malloc((size_t)d->n_train * sizeof *p[k]);
		if (!p[k]) {
			free(p[0]);
			return tp_fail(TP_ERR_NOMEM, "export split: out of memory");
		}
		split_prob(wb, k, g[k], p[k]);
	}

	files_make_parents(path);
	f = fopen(path, "w");
	if (!f) {
		st = tp_fail(TP_ERR_IO, "export split: cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	given = train_given_labels(wb->run);
	fprintf(f, "index,given,true,loss_a,p_clean_a%s\n", n_heads == 2 ? ",loss_b,p_clean_b" : "");
	for (int i = 0; i < d->n_train; i++) {
		fprintf(f, "%d,%d,%d,%.9g,%.9g", i, given[i], d->y_train[i], g[0]->loss[i], p[0][i]);
		if (n_heads == 2)
			fprintf(f, ",%.9g,%.9g", g[1]->loss[i], p[1][i]);
		fputc('\n', f);
	}
	if (ferror(f) | fclose(f)) {
		st = tp_fail(TP_ERR_IO, "export split: writing '%s' failed: %s", path, strerror(errno));
		goto done;
	}
	out_printf("wrote %d rows to %s\n", d->n_train, path);
done:
	free(p[0]);
	free(p[1]);
	return st;
}
