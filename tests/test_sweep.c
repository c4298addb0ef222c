/* Sweeps: grid parsing, resumption after an interruption, and a table whose
 * numbers are the runs' own. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "selector.h"
#include "sweep.h"
#include "synthetic.h"
#include "tap.h"

#define C 3
#define D 8
#define N_TRAIN 300
#define N_TEST 90

static float x_train[N_TRAIN * D], x_test[N_TEST * D];
static int y_train[N_TRAIN], y_test[N_TEST], index_map[N_TRAIN];
static dataset data;
static char dir[] = "/tmp/tp_sweep_XXXXXX";

static void make_data(void)
{
	synthetic_dataset(&data, C, D, 0.3, 3, x_train, y_train, index_map, N_TRAIN, x_test, y_test, N_TEST);
}

static void test_parsing(void)
{
	sweep_grid g;
	int epochs = 7;
	char path[64];
	FILE *f;

	memset(&g, 0, sizeof g);
	ok(sweep_parse_noise(&g, "sym:0.2,0.5 pair:0.4") == TP_OK, "noise spec parses");
	is_int(g.n_noise, 3, "three noise settings");
	ok(g.noise[2].kind == NOISE_PAIR && g.noise[2].rate == 0.4, "pair 0.4 is the third");
	ok(sweep_parse_noise(&g, "sym") == TP_ERR_VALUE, "noise without rates rejected");
	ok(sweep_parse_noise(&g, "sym:1.5") == TP_ERR_VALUE, "rate above 1 rejected");
	ok(sweep_parse_noise(&g, "fewshot-sym:2") == TP_ERR_VALUE, "unsweepable kind rejected");
	ok(sweep_parse_methods(&g, "ce,twin,bogus") == TP_ERR_VALUE, "unknown method rejected");
	ok(strstr(tp_last_error(), "bogus") != NULL, "message names the method: %s", tp_last_error());
	ok(sweep_parse_methods(&g, "ce,gce,twin") == TP_OK && g.n_methods == 3, "methods parse");
	ok(sweep_parse_selectors(&g, "gmm,ot") == TP_OK && g.n_selectors == 2, "selectors parse");
	ok(sweep_parse_seeds(&g, "1,2,3") == TP_OK && g.n_seeds == 3, "seeds parse");
	/* 3 noise x (ce + gce + twin x 2 selectors) x 3 seeds */
	is_int(sweep_count(&g), 3 * 4 * 3, "selectors multiply only twin");

	snprintf(path, sizeof path, "%s/grid.txt", dir);
	f = fopen(path, "w");
	fputs("# a grid\nnoise idn:0.3\nmethods single\nepochs 4\n", f);
	fclose(f);
	ok(sweep_read_file(&g, path, &epochs) == TP_OK, "grid file reads");
	is_int(epochs, 4, "grid file sets the epochs");
	ok(g.n_noise == 1 && g.noise[0].kind == NOISE_IDN, "grid file sets the noise");
	is_int(g.n_seeds, 3, "grid file keeps what it does not name");
	f = fopen(path, "w");
	fputs("noise sym:0.2\nrates 0.1\n", f);
	fclose(f);
	ok(sweep_read_file(&g, path, &epochs) == TP_ERR_VALUE, "unknown grid key rejected");
	ok(strstr(tp_last_error(), "line 2") != NULL, "message names the line: %s", tp_last_error());
	remove(path);
}

static int stop_at_batch;
static int batches;
static int stop_hook(void *user)
{
	(void)user;
	return ++batches == stop_at_batch;
}

static void small_grid(sweep_grid *g)
{
	memset(g, 0, sizeof *g);
	sweep_parse_noise(g, "sym:0.2,0.4");
	sweep_parse_methods(g, "ce,twin");
	sweep_parse_selectors(g, "gmm,oracle");
	sweep_parse_seeds(g, "1,2");
}

static void test_resume_and_table(void)
{
	sweep_grid g;
	train_config cfg;
	sweep_hooks hooks = { NULL, NULL, stop_hook, NULL, NULL };
	char whole[64], resumed[64], md[64], csv[64];
	sweep_result *a, *b;
	int na, nb, same = 1, lines_ok = 1;

	small_grid(&g);
	train_config_defaults(&cfg);
	cfg.lr = 0.001;
	cfg.scale = 30;
	snprintf(whole, sizeof whole, "%s/whole.runs.csv", dir);
	snprintf(resumed, sizeof resumed, "%s/resumed.runs.csv", dir);

	stop_at_batch = -1;
	ok(sweep_run(&data, &cfg, 3, &g, whole, &hooks) == TP_OK, "uninterrupted sweep runs");
	batches = 0;
	stop_at_batch = 100;    /* 10 batches an epoch, 3 epochs a run: inside run 4 */
	ok(sweep_run(&data, &cfg, 3, &g, resumed, &hooks) == TP_ERR_INTERRUPTED, "sweep interrupted");
	ok(sweep_read_runs(resumed, &b, &nb) == TP_OK, "partial runs file reads");
	is_int(nb, 3, "three runs finished before the interruption");
	free(b);
	stop_at_batch = -1;
	ok(sweep_run(&data, &cfg, 3, &g, resumed, &hooks) == TP_OK, "sweep continues");

	ok(sweep_read_runs(whole, &a, &na) == TP_OK && sweep_read_runs(resumed, &b, &nb) == TP_OK, "runs files read");
	is_int(na, sweep_count(&g), "every grid point ran once");
	is_int(nb, na, "the resumed sweep has the same runs");
	for (int i = 0; i < na && i < nb; i++)
		same &= a[i].accuracy == b[i].accuracy && a[i].seed == b[i].seed && a[i].method == b[i].method;
	ok(same, "resumed runs equal the uninterrupted ones");

	/* the table cell of twin/oracle at sym 0.4 is the mean and sample std of its two runs */
	{
		double am, as, fm, fs, x[2];
		int k = 0, count;
		sweep_noise noise = { NOISE_SYM, 0.4 };

		for (int i = 0; i < na; i++)
			if (a[i].method == METHOD_TWIN && a[i].selector == SELECTOR_ORACLE && a[i].noise.rate == 0.4)
				x[k++] = a[i].accuracy;
		count = sweep_cell(a, na, METHOD_TWIN, SELECTOR_ORACLE, noise, 3, &am, &as, &fm, &fs);
		is_int(count, 2, "cell counts two seeds");
		is_near(am, (x[0] + x[1]) / 2, 1e-12, "cell mean is the runs' mean");
		is_near(as, fabs(x[0] - x[1]) / sqrt(2.0), 1e-12, "cell std is the sample standard deviation");
		is_near(fm, 1.0, 1e-12, "oracle split F1 is 1");
	}

	snprintf(md, sizeof md, "%s/t.md", dir);
	snprintf(csv, sizeof csv, "%s/t.csv", dir);
	ok(sweep_write_table(&g, 3, a, na, csv, md) == TP_OK, "table written");
	{
		FILE *f = fopen(csv, "r");
		char line[256];
		int n_lines = 0;

		while (f && fgets(line, sizeof line, f)) {
			n_lines++;
			if (n_lines > 1)
				lines_ok &= strstr(line, ",2,") != NULL;
		}
		if (f)
			fclose(f);
		/* rows ce, twin/gmm, twin/oracle x 2 noise settings, plus the header */
		is_int(n_lines, 1 + 3 * 2, "CSV has one line per row and noise setting");
		ok(lines_ok, "every CSV cell aggregates two seeds");
	}
	free(a);
	free(b);
	remove(whole);
	remove(resumed);
	remove(md);
	remove(csv);
}

static void test_foreign_runs_file(void)
{
	sweep_grid g;
	train_config cfg;
	char path[64];
	FILE *f;

	small_grid(&g);
	train_config_defaults(&cfg);
	snprintf(path, sizeof path, "%s/other.csv", dir);
	f = fopen(path, "w");
	fputs("a,b,c\n1,2,3\n", f);
	fclose(f);
	ok(sweep_run(&data, &cfg, 2, &g, path, NULL) == TP_ERR_FORMAT, "foreign runs file rejected");
	f = fopen(path, "r");
	{
		char line[64] = "";

		ok(f && fgets(line, sizeof line, f) && strcmp(line, "a,b,c\n") == 0, "foreign file left untouched");
	}
	if (f)
		fclose(f);
	remove(path);
}

int main(void)
{
	if (!mkdtemp(dir))
		return skip_all("cannot create a temporary folder");
	make_data();
	test_parsing();
	test_resume_and_table();
	test_foreign_runs_file();
	rmdir(dir);
	return done_testing();
}
