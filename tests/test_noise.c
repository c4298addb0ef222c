/* Label noise: exact counts, seeds, and where the new labels go. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "noise.h"
#include "tap.h"

#define N 5000
#define C 10

static int y_true[N];
static int y_given[N];
static int y_other[N];

static int count_changed(const int *a, const int *b, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += a[i] != b[i];
	return k;
}

static void test_sym(void)
{
	int chosen = -1;
	int bad_range = 0;
	int per_class[C] = { 0 };
	int min = N, max = 0;

	ok(noise_apply(NOISE_SYM, 0.37, 11, y_true, N, C, y_given, &chosen) == TP_OK, "sym applies");
	is_int(chosen, (long)lround(0.37 * N), "sym chooses round(rate N) samples");
	/* sym never keeps the true label on a chosen sample, so every chosen one changes */
	is_int(count_changed(y_true, y_given, N), (long)lround(0.37 * N), "sym changes exactly the chosen labels");
	for (int i = 0; i < N; i++) {
		bad_range += y_given[i] < 0 || y_given[i] >= C;
		if (y_given[i] != y_true[i])
			per_class[y_given[i]]++;
	}
	is_int(bad_range, 0, "sym labels stay in range");
	/* new labels are spread over the classes: each gets about 1850 / 10 */
	for (int c = 0; c < C; c++) {
		if (per_class[c] < min)
			min = per_class[c];
		if (per_class[c] > max)
			max = per_class[c];
	}
	ok(min > 120 && max < 260, "sym new labels spread over classes (min %d, max %d)", min, max);
	is_near(noise_realised_rate(y_true, y_given, N), 0.37, 1e-12, "sym realised rate equals the rate");
}

static void test_seeds(void)
{
	noise_apply(NOISE_SYM, 0.5, 3, y_true, N, C, y_given, NULL);
	noise_apply(NOISE_SYM, 0.5, 3, y_true, N, C, y_other, NULL);
	ok(memcmp(y_given, y_other, sizeof y_given) == 0, "same seed gives the same labels");
	noise_apply(NOISE_SYM, 0.5, 4, y_true, N, C, y_other, NULL);
	ok(count_changed(y_given, y_other, N) > N / 4, "another seed gives other labels");
}

static void test_sym_incl(void)
{
	int chosen;
	double rate;

	ok(noise_apply(NOISE_SYM_INCL, 0.6, 5, y_true, N, C, y_given, &chosen) == TP_OK, "sym-incl applies");
	is_int(chosen, 3000, "sym-incl chooses round(rate N) samples");
	rate = noise_realised_rate(y_true, y_given, N);
	/* expected 0.6 * 0.9 = 0.54; binomial sd of the kept fraction over 3000 draws is about 0.0055 */
	ok(fabs(rate - 0.54) < 0.025, "sym-incl realised rate near rate (1 - 1/C): %.4f", rate);
}

static void test_pair(void)
{
	int wrong_target = 0;

	ok(noise_apply(NOISE_PAIR, 0.25, 9, y_true, N, C, y_given, NULL) == TP_OK, "pair applies");
	is_int(count_changed(y_true, y_given, N), 1250, "pair changes exactly round(rate N) labels");
	for (int i = 0; i < N; i++)
		wrong_target += y_given[i] != y_true[i] && y_given[i] != (y_true[i] + 1) % C;
	is_int(wrong_target, 0, "pair labels are (y + 1) mod C");
}

static void test_transition(void)
{
	int counts[C * C];
	int rows_ok = 1;
	int diag = 0;

	noise_apply(NOISE_SYM, 0.2, 1, y_true, N, C, y_given, NULL);
	noise_transition(y_true, y_given, N, C, counts);
	for (int t = 0; t < C; t++) {
		int row = 0, expected = 0;

		for (int g = 0; g < C; g++)
			row += counts[t * C + g];
		for (int i = 0; i < N; i++)
			expected += y_true[i] == t;
		rows_ok &= row == expected;
		diag += counts[t * C + t];
	}
	ok(rows_ok, "transition rows sum to the class sizes");
	is_int(diag, N - 1000, "transition diagonal counts the unchanged labels");
}

static void test_errors(void)
{
	int bad[3] = { 0, 1, 7 };

	ok(noise_apply(NOISE_SYM, 1.5, 1, y_true, N, C, y_given, NULL) == TP_ERR_VALUE, "rate above 1 rejected");
	ok(noise_apply(NOISE_SYM, NAN, 1, y_true, N, C, y_given, NULL) == TP_ERR_VALUE, "NaN rate rejected");
	ok(noise_apply(NOISE_SYM, 0.5, 1, bad, 3, 3, y_given, NULL) == TP_ERR_VALUE, "true label out of range rejected");
	ok(strstr(tp_last_error(), "7") != NULL, "error names the bad label: %s", tp_last_error());
	ok(noise_apply(NOISE_SYM, 0.0, 1, y_true, N, C, y_given, NULL) == TP_OK &&
	   count_changed(y_true, y_given, N) == 0, "rate 0 keeps every label");
}

static void test_fewshot(noise_kind kind)
{
	enum { K = 8, FP = 3 };
	int rows[C * K], given[C * K];
	int used[N] = { 0 };
	int reused = 0, false_ok = 1, true_count_ok = 1, labels_ok = 1;
	const char *name = noise_kind_name(kind);

	ok(noise_fewshot(kind, K, FP, 4, y_true, N, C, rows, given) == TP_OK, "%s builds the shots", name);
	for (int c = 0; c < C; c++) {
		int n_true = 0;

		for (int j = 0; j < K; j++) {
			int r = rows[c * K + j];

			reused += used[r]++ > 0;
			labels_ok &= given[c * K + j] == c;
			if (y_true[r] == c)
				n_true++;
			else if (kind == NOISE_FEWSHOT_PAIR)
				false_ok &= y_true[r] == (c + 1) % C;
		}
		true_count_ok &= n_true == K - FP;
	}
	is_int(reused, 0, "no image is used twice");
	{
		int rows2[C * K], given2[C * K];

		noise_fewshot(kind, K, FP, 4, y_true, N, C, rows2, given2);
		ok(memcmp(rows, rows2, sizeof rows) == 0, "%s: same seed, same shots", name);
		noise_fewshot(kind, K, FP, 5, y_true, N, C, rows2, given2);
		ok(memcmp(rows, rows2, sizeof rows) != 0, "%s: another seed, other shots", name);
	}
	ok(labels_ok, "%s: every shot of class c is labelled c", name);
	ok(true_count_ok, "%s: exactly K - FP true shots per class", name);
	ok(false_ok, "%s: false shots come from the right classes", name);
}

static void test_fewshot_errors(void)
{
	int rows[C * 4], given[C * 4];
	int small[12];

	for (int i = 0; i < 12; i++)
		small[i] = i % 3;
	ok(noise_fewshot(NOISE_FEWSHOT_SYM, 4, 5, 1, y_true, N, C, rows, given) == TP_ERR_VALUE,
	   "more false shots than shots rejected");
	ok(noise_fewshot(NOISE_FEWSHOT_SYM, 4, 0, 1, small, 12, 3, rows, given) == TP_OK,
	   "a pool of exactly K per class suffices");
	ok(noise_fewshot(NOISE_FEWSHOT_SYM, 5, 0, 1, small, 12, 3, rows, given) == TP_ERR_VALUE,
	   "a class with fewer than K images rejected");
	ok(strstr(tp_last_error(), "class 0 has 4 images") != NULL, "message names the class: %s", tp_last_error());
}

static void test_matrix(void)
{
	double identity[C * C] = { 0 }, shift[C * C] = { 0 }, bad[C * C] = { 0 };
	int wrong = 0;

	for (int c = 0; c < C; c++) {
		identity[c * C + c] = 1.0;
		shift[c * C + (c + 2) % C] = 1.0;
		bad[c * C + c] = 0.9;
	}
	ok(noise_apply_matrix(identity, 1, y_true, N, C, y_given) == TP_OK, "identity matrix applies");
	is_int(count_changed(y_true, y_given, N), 0, "identity matrix keeps every label");
	noise_apply_matrix(shift, 1, y_true, N, C, y_given);
	for (int i = 0; i < N; i++)
		wrong += y_given[i] != (y_true[i] + 2) % C;
	is_int(wrong, 0, "a permutation matrix moves every label");
	ok(noise_apply_matrix(bad, 1, y_true, N, C, y_given) == TP_ERR_VALUE, "rows not summing to 1 rejected");
	ok(strstr(tp_last_error(), "row 0 sums to 0.9") != NULL, "message names the row: %s", tp_last_error());
}

static void test_matrix_file(void)
{
	char dir[] = "/tmp/tp_noise_XXXXXX";
	char path[64];
	double *m = NULL;
	FILE *f;

	if (!mkdtemp(dir)) {
		ok(0, "temporary folder");
		return;
	}
	snprintf(path, sizeof path, "%s/m.txt", dir);
	f = fopen(path, "w");
	fputs("# a comment\n0.5 0.5\n0.25,0.75\n", f);
	fclose(f);
	ok(noise_read_matrix(path, 2, &m) == TP_OK && m, "2 x 2 matrix read");
	if (m)
		is_near(m[2], 0.25, 0, "comma-separated row read");
	free(m);
	ok(noise_read_matrix(path, 3, &m) == TP_ERR_SHAPE, "matrix of the wrong size rejected");
	f = fopen(path, "w");
	fputs("0.5 zero\n0.5 0.5\n", f);
	fclose(f);
	ok(noise_read_matrix(path, 2, &m) == TP_ERR_FORMAT, "non-number rejected");
	ok(strstr(tp_last_error(), "line 1") != NULL, "message names the line: %s", tp_last_error());
	remove(path);
	ok(noise_read_matrix(path, 2, &m) == TP_ERR_IO, "missing file rejected");
	rmdir(dir);
}

static void test_idn(void)
{
	enum { D = 6 };
	static float x[N * D];
	int chosen;
	int kept_true = 0;
	unsigned state = 5;

	for (int i = 0; i < N * D; i++) {
		state = state * 1103515245u + 12345u;
		x[i] = (float)(((state >> 8) & 0xffff) / 65536.0 - 0.5);
	}
	ok(noise_apply_idn(0.3, 2, x, D, y_true, N, C, y_given, &chosen) == TP_OK, "idn applies");
	is_int(chosen, 1500, "idn chooses round(rate N) samples");
	is_int(count_changed(y_true, y_given, N), 1500, "idn realised count is exact");
	noise_apply_idn(0.3, 2, x, D, y_true, N, C, y_other, NULL);
	ok(memcmp(y_given, y_other, sizeof y_given) == 0, "idn is seeded");
	for (int i = 0; i < N; i++)
		kept_true += y_given[i] == y_true[i];
	is_int(kept_true, N - 1500, "idn never redraws the true label");

	/* the flip target depends on the features: the same class with opposite
	 * features flips to different labels much more often than not */
	{
		int differ = 0, pairs = 0;
		static float x2[N * D];

		for (int i = 0; i < N * D; i++)
			x2[i] = -x[i];
		noise_apply_idn(1.0, 2, x, D, y_true, N, C, y_given, NULL);
		noise_apply_idn(1.0, 2, x2, D, y_true, N, C, y_other, NULL);
		for (int i = 0; i < N; i++) {
			pairs++;
			differ += y_given[i] != y_other[i];
		}
		ok(differ > pairs / 2, "flip targets follow the features (%d of %d differ)", differ, pairs);
	}
}

static void test_names(void)
{
	noise_kind k;

	ok(noise_kind_parse("sym-incl", &k) == 0 && k == NOISE_SYM_INCL, "kind names parse");
	ok(noise_kind_parse("asym", &k) == -1, "unknown kind rejected");
	ok(strcmp(noise_kind_name(NOISE_PAIR), "pair") == 0, "kind name of pair");
}

int main(void)
{
	for (int i = 0; i < N; i++)
		y_true[i] = (i * 7) % C;
	test_sym();
	test_seeds();
	test_sym_incl();
	test_pair();
	test_transition();
	test_errors();
	test_fewshot(NOISE_FEWSHOT_SYM);
	test_fewshot(NOISE_FEWSHOT_PAIR);
	test_fewshot_errors();
	test_matrix();
	test_matrix_file();
	test_idn();
	test_names();
	return done_testing();
}
