/* Label noise: exact counts, seeds, and where the new labels go. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
	test_names();
	return done_testing();
}
