/* Drawing the dashboard with curses: layout, panels, keys and help. */
#include "config.h"

#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "clamp.h"
#include "dash_curses.h"
#include "dashboard.h"
#include "output.h"

enum {
	PAIR_HEAD_A = 1, PAIR_HEAD_B, PAIR_ENSEMBLE, PAIR_TARGET, PAIR_CLEAN, PAIR_NOISY,
	PAIR_CLEAN_ON_NOISY, PAIR_TITLE, PAIR_ERROR
};

/* A rectangle of the screen. */
typedef struct rect {
	int y, x, h, w;
} rect;

typedef struct layout {
	rect header, acc, hist, split, noise, classes, pane, keys;
} layout;

static int screen_open;
static int use_colour, use_utf8;
static char *saved_ctype;
static struct sigaction saved_winch;
static volatile sig_atomic_t winch_pending;

static void on_winch(int sig)
{
	(void)sig;
	winch_pending = 1;
}

/* Tells curses the terminal's new size after SIGWINCH. */
static int resize_apply(void)
{
	struct winsize ws;

	winch_pending = 0;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0)
		return 0;
	resizeterm(ws.ws_row, ws.ws_col);
	return 1;
}

/* ---- opening and closing ---- */

static void colours_init(void)
{
	start_color();
	use_default_colors();
	init_pair(PAIR_HEAD_A, COLOR_BLUE, -1);
	init_pair(PAIR_HEAD_B, COLOR_YELLOW, -1);
	init_pair(PAIR_ENSEMBLE, COLOR_MAGENTA, -1);
	init_pair(PAIR_TARGET, COLOR_WHITE, -1);
	init_pair(PAIR_CLEAN, COLOR_GREEN, -1);
	init_pair(PAIR_NOISY, COLOR_RED, -1);
	init_pair(PAIR_CLEAN_ON_NOISY, COLOR_GREEN, COLOR_RED);
	init_pair(PAIR_TITLE, COLOR_BLACK, COLOR_CYAN);
	init_pair(PAIR_ERROR, COLOR_RED, -1);
}

static void restore_at_exit(void)
{
	dash_screen_close();
}

tp_status dash_screen_open(dash_state *s)
{
	static int atexit_done;
	const char *no_colour = getenv("NO_COLOR");
	const char *ctype;
	struct sigaction sa;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return tp_fail(TP_ERR_STATE, "dashboard: standard input and output must be a terminal: run twinprompt interactively");
	ctype = setlocale(LC_CTYPE, NULL);
	saved_ctype = ctype ? strdup(ctype) : NULL;
	setlocale(LC_CTYPE, "");
	use_utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	/* the size is read in dash_screen_key(), outside the handler */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_winch;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, &saved_winch);
	if (!newterm(NULL, stdout, stdin)) {
		sigaction(SIGWINCH, &saved_winch, NULL);
		dash_screen_close();
		return tp_fail(TP_ERR_STATE, "dashboard: cannot use the terminal '%s': set TERM to your terminal's type",
			       getenv("TERM") ? getenv("TERM") : "(unset)");
	}
	screen_open = 1;
	if (!atexit_done && atexit(restore_at_exit) == 0)
		atexit_done = 1;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	use_colour = has_colors() && !(no_colour && no_colour[0]);
	if (use_colour)
		colours_init();
	s->utf8 = use_utf8;
	s->colour = use_colour;
	return TP_OK;
}

void dash_screen_close(void)
{
	if (screen_open) {
		curs_set(1);
		endwin();
		delscreen(set_term(NULL));
		sigaction(SIGWINCH, &saved_winch, NULL);
		screen_open = 0;
	}
	if (saved_ctype) {
		setlocale(LC_CTYPE, saved_ctype);
		free(saved_ctype);
		saved_ctype = NULL;
	}
}

int dash_screen_key(int timeout_ms)
{
	int ch;

	if (winch_pending && resize_apply())
		return DASH_KEY_RESIZE;
	timeout(timeout_ms);
	ch = getch();
	if (winch_pending && resize_apply())
		return DASH_KEY_RESIZE;
	switch (ch) {
	case ERR: return DASH_KEY_NONE;
	case KEY_RESIZE: return DASH_KEY_RESIZE;
	case KEY_ENTER: case '\n': case '\r': return DASH_KEY_ENTER;
	case KEY_BACKSPACE: case 127: case 8: return DASH_KEY_BACKSPACE;
	case 27: return DASH_KEY_ESCAPE;
	default: return ch >= 0 && ch < 256 ? ch : DASH_KEY_NONE;
	}
}

/* ---- text helpers ---- */

static attr_t pair_attr(int pair)
{
	return use_colour ? COLOR_PAIR(pair) : A_NORMAL;
}

/* Prints formatted ASCII text at (y, x), cut at w columns. */
static void put(int y, int x, int w, attr_t attr, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void put(int y, int x, int w, attr_t attr, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (w <= 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	attron(attr);
	mvaddnstr(y, x, buf, w);
	attroff(attr);
}

/* One glyph: the UTF-8 string when the terminal takes Unicode, else ascii. */
static void glyph(int y, int x, attr_t attr, const char *utf8, char ascii)
{
	attron(attr);
	if (use_utf8) {
		mvaddstr(y, x, utf8);
	} else {
		mvaddch(y, x, (chtype)(unsigned char)ascii);
	}
	attroff(attr);
}

static void title(const rect *r, const char *text)
{
	attr_t attr = use_colour ? COLOR_PAIR(PAIR_TITLE) : A_REVERSE;

	attron(attr);
	mvhline(r->y, r->x, ' ', r->w - 1);
	attroff(attr);
	put(r->y, r->x, r->w - 1, attr | A_BOLD, " %s", text);
}

static const char *const eighths[9] = { " ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
static const char ascii_eighths[9] = { ' ', '.', '.', '_', '_', 'o', 'o', '#', '#' };

/* ---- layout ---- */

static void layout_compute(int rows, int cols, layout *l)
{
	int extra = rows - DASH_MIN_ROWS;
	int top_h = 8 + extra / 2;
	int mid_y = 1 + top_h;
	int pane_y = mid_y + 12;
	int half = cols / 2;

	l->header = (rect){ 0, 0, 1, cols };
	l->acc = (rect){ 1, 0, top_h, half };
	l->hist = (rect){ 1, half, top_h, cols - half };
	l->split = (rect){ mid_y, 0, 12, 27 };
	l->noise = (rect){ mid_y, 27, 12, 24 };
	l->classes = (rect){ mid_y, 51, 12, cols - 51 };
	l->pane = (rect){ pane_y, 0, rows - 1 - pane_y, cols };
	l->keys = (rect){ rows - 1, 0, 1, cols };
}

/* ---- header ---- */

static void draw_header(const dash_state *s, const rect *r)
{
	workbench *wb = s->wb;
	const epoch_report *h = NULL;
	int n = 0, done = 0, pos = 0;
	long step = 0;
	char lr[16] = "-", loss[16] = "-";
	const char *state = s->running ? "RUNNING" : "PAUSED";

	if (wb->run) {
		h = train_history(wb->run, &n);
		done = train_epochs_done(wb->run);
		pos = train_batch_position(wb->run);
		step = train_steps_done(wb->run);
		if (done >= wb->config.epochs)
			state = "DONE";
	}
	if (n > 0) {
		snprintf(lr, sizeof lr, "%.1e", h[n - 1].lr);
		snprintf(loss, sizeof loss, "%.3f", h[n - 1].train_loss);
	}
	put(r->y, 0, r->w, A_BOLD, "%-7s", state);
	put(r->y, 8, r->w - 8, A_NORMAL, "epoch %d/%d %d/%d step %ld lr %s loss %s %.0f/s head %c",
	    done + (wb->run && train_in_epoch(wb->run)), wb->config.epochs, pos,
	    wb->data ? wb->data->n_train : 0, step, lr, loss, s->speed, 'A' + s->head);
	if (s->message[0] && r->w > 100)
		put(r->y, 100, r->w - 100, A_BOLD, "%s", s->message);
}

/* ---- accuracy curves ---- */

static const int acc_pairs[METER_ACC_SERIES] = { PAIR_HEAD_A, PAIR_HEAD_B, PAIR_ENSEMBLE, PAIR_TARGET };
static const char acc_letters[METER_ACC_SERIES] = { 'A', 'B', 'E', 't' };

/* Braille canvas: one dot bit per (column, row) of dots, and the series
 * that set each cell last. */
typedef struct canvas {
	int w, h;                  /* in cells */
	unsigned char *bits;       /* (h, w) */
	signed char *series;       /* (h, w) -1 = empty */
} canvas;

static void canvas_dot(canvas *c, int dx, int dy, int series)
{
	static const unsigned char bit[4][2] = { { 0x01, 0x08 }, { 0x02, 0x10 }, { 0x04, 0x20 }, { 0x40, 0x80 } };
	int cx = dx / 2, cy = dy / 4;

	if (cx < 0 || cx >= c->w || cy < 0 || cy >= c->h)
		return;
	c->bits[cy * c->w + cx] |= bit[dy % 4][dx % 2];
	c->series[cy * c->w + cx] = (signed char)series;
}

/* Plots one series onto the canvas, joining neighbouring columns. */
static void canvas_series(canvas *c, const double *y, int n, int span, double lo, double hi, int series, int dots)
{
	int wd = c->w * (dots ? 2 : 1), hd = c->h * (dots ? 4 : 1);
	int *cell = malloc((size_t)wd * sizeof *cell);

	if (!cell)
		return;
	meter_curve_cells(y, n, span, lo, hi, wd, hd, cell);
	for (int x = 0; x < wd; x++) {
		int from = cell[x], to = cell[x];

		if (cell[x] < 0)
			continue;
		if (x > 0 && cell[x - 1] >= 0) {
			from = cell[x - 1] < from ? cell[x - 1] + 1 : from;
			to = cell[x - 1] > to ? cell[x - 1] - 1 : to;
		}
		for (int yy = from; yy <= to; yy++) {
			if (dots)
				canvas_dot(c, x, yy, series);
			else
				c->series[yy * c->w + x] = (signed char)series;
		}
	}
	free(cell);
}

static void canvas_show(const canvas *c, int y0, int x0, int dots)
{
	for (int cy = 0; cy < c->h; cy++)
		for (int cx = 0; cx < c->w; cx++) {
			int sr = c->series[cy * c->w + cx];
			char utf8[4];
			unsigned bits = c->bits[cy * c->w + cx];

			if (sr < 0)
				continue;
			if (!dots) {
				put(y0 + cy, x0 + cx, 1, pair_attr(acc_pairs[sr]) | A_BOLD, "%c", acc_letters[sr]);
				continue;
			}
			/* U+2800 + bits in UTF-8 */
			utf8[0] = (char)0xE2;
			utf8[1] = (char)(0xA0 | (bits >> 6));
			utf8[2] = (char)(0x80 | (bits & 0x3F));
			utf8[3] = '\0';
			glyph(y0 + cy, x0 + cx, pair_attr(acc_pairs[sr]) | A_BOLD, utf8, '*');
		}
}

static void acc_title(const rect *r, const epoch_report *last)
{
	char b[16];
	int x = r->x + 10;

	title(r, "ACCURACY");
	for (int sr = 0; sr < METER_ACC_SERIES && last; sr++) {
		double v = meter_acc_value(last, sr);

		if (isnan(v))
			continue;
		/* ".630" for 0.630, so that four values fit a half-width panel */
		out_num(b, sizeof b, v, 3);
		put(r->y, x, r->x + r->w - 1 - x, (use_colour ? COLOR_PAIR(PAIR_TITLE) : A_REVERSE) | A_BOLD,
		    "%c %s ", acc_letters[sr], b[0] == '0' ? b + 1 : b);
		x += 7;
	}
}

static void draw_acc(const dash_state *s, const rect *r)
{
	workbench *wb = s->wb;
	int n = 0, dots = use_utf8 && use_colour;
	const epoch_report *h = wb->run ? train_history(wb->run, &n) : NULL;
	double lo, hi, *y;
	canvas c;

	acc_title(r, n ? &h[n - 1] : NULL);
	if (n == 0) {
		put(r->y + 2, r->x + 1, r->w - 2, A_NORMAL, "no epochs yet: training fills this");
		put(r->y + 3, r->x + 1, r->w - 2, A_NORMAL, "(A, B, ensemble test; t = targets)");
		return;
	}
	meter_acc_range(h, n, &lo, &hi);
	put(r->y + 1, r->x, 5, A_NORMAL, "%.2f", hi);
	put(r->y + r->h - 1, r->x, 5, A_NORMAL, "%.2f", lo);
	c.w = r->w - 6;
	c.h = r->h - 1;
	c.bits = calloc((size_t)c.w * c.h, 1);
	c.series = malloc((size_t)c.w * c.h);
	y = malloc((size_t)n * sizeof *y);
	if (c.bits && c.series && y) {
		memset(c.series, -1, (size_t)c.w * c.h);
		for (int sr = METER_ACC_SERIES - 1; sr >= 0; sr--) {
			for (int i = 0; i < n; i++)
				y[i] = meter_acc_value(&h[i], sr);
			canvas_series(&c, y, n, wb->config.epochs, lo, hi, sr, dots);
		}
		canvas_show(&c, r->y + 1, r->x + 5, dots);
	}
	free(c.bits);
	free(c.series);
	free(y);
}

/* ---- loss histogram ---- */

/* Height of a count as a fraction of the panel: square-root scale, so that
 * the noisy samples' long low tail stays visible beside the clean peak. */
static double hist_scale(const meter_hist *m, double count)
{
	return count > 0.0 ? sqrt(count / m->max_count) : 0.0;
}

/* One column of the stacked bar: clean below, noisy above, in eighths. */
static void hist_column(const meter_hist *m, int b, int x, int y_bottom, int height)
{
	int total = height * 8;
	int clean = (int)lround(hist_scale(m, m->clean[b]) * total);
	int all = (int)lround(hist_scale(m, m->clean[b] + m->noisy[b]) * total);

	for (int row = 0; row < height; row++) {
		int lo = row * 8, y = y_bottom - row;
		int c = clean - lo, a = all - lo;

		c = clamp_int(c, 0, 8);
		a = clamp_int(a, 0, 8);
		if (a == 0)
			break;
		if (c == 8)
			glyph(y, x, pair_attr(PAIR_CLEAN), eighths[8], '#');
		else if (c > 0 && use_colour)
			glyph(y, x, pair_attr(a == 8 ? PAIR_CLEAN_ON_NOISY : PAIR_CLEAN), eighths[c], ascii_eighths[c]);
		else if (c > 0)
			glyph(y, x, A_NORMAL, eighths[c], ascii_eighths[c]);
		else
			glyph(y, x, pair_attr(PAIR_NOISY), eighths[a], use_colour ? ascii_eighths[a] : 'x');
	}
}

/* The fitted densities as dots above the bars, and the threshold. */
static void hist_overlay(const meter_hist *m, const rect *r, int y_bottom, int height)
{
	for (int b = 0; b < m->n_bins; b++) {
		double x = (b + 0.5) / m->n_bins;
		int top = (int)ceil(hist_scale(m, m->clean[b] + m->noisy[b]) * height);

		for (int k = 0; k < 2; k++) {
			int row = (int)lround(hist_scale(m, meter_hist_density(m, k, x)) * height);

			if (row > top && row < height)
				glyph(y_bottom - row, r->x + b, pair_attr(k ? PAIR_NOISY : PAIR_CLEAN) | A_BOLD, "•", k ? 'n' : 'c');
		}
	}
	if (isfinite(m->threshold)) {
		int col = (int)(m->threshold * m->n_bins);

		col = col >= m->n_bins ? m->n_bins - 1 : col;
		/* only in blank cells, so that the bars stay readable */
		for (int row = 0; row < height; row++)
			if ((mvinch(y_bottom - row, r->x + col) & A_CHARTEXT) == ' ')
				glyph(y_bottom - row, r->x + col, A_BOLD, "│", '|');
	}
}

static void draw_hist(const dash_state *s, const rect *r)
{
	const meter_hist *m = &s->meters.hist;
	int y_bottom = r->y + r->h - 2, height = r->h - 2;
	char buf[80];

	snprintf(buf, sizeof buf, "LOSSES %c  clean/noisy, %s GMM", 'A' + s->head, use_utf8 ? "•" : "c/n");
	title(r, buf);
	if (!s->meters.hist_valid || m->max_count == 0) {
		put(r->y + 2, r->x + 1, r->w - 2, A_NORMAL, "no GMM yet: 'g' after ':gmm init',");
		put(r->y + 3, r->x + 1, r->w - 2, A_NORMAL, "or train an epoch");
		return;
	}
	for (int b = 0; b < m->n_bins && b < r->w - 1; b++)
		hist_column(m, b, r->x + b, y_bottom, height);
	hist_overlay(m, r, y_bottom, height);
	put(r->y + r->h - 1, r->x, r->w - 1, A_NORMAL, "0..1 loss, n %d, sqrt scale", m->n);
	if (isfinite(m->threshold))
		put(r->y + r->h - 1, r->x + r->w - 13, 12, A_BOLD, "| thr %.3f", m->threshold);
}

/* ---- split table and GMM ---- */

static void draw_split(const dash_state *s, const rect *r)
{
	const dash_meters *m = &s->meters;
	const split_quality *q = &m->split;
	const gmm *g = &m->gmm_shown;
	char b[4][16];
	int y = r->y + 1, w = r->w - 1;

	title(r, s->head ? "SPLIT head B" : "SPLIT head A");
	if (!m->split_valid) {
		put(y + 1, r->x + 1, w - 1, A_NORMAL, "no split yet: train an");
		put(y + 2, r->x + 1, w - 1, A_NORMAL, "epoch or ':gmm init'");
		return;
	}
	put(y++, r->x, w, A_NORMAL, "pred\\true  clean  noisy");
	put(y, r->x, w, A_NORMAL, "clean     ");
	put(y, r->x + 10, 7, pair_attr(PAIR_CLEAN), "%6d", q->true_neg);
	put(y++, r->x + 17, 7, pair_attr(PAIR_NOISY), "%6d", q->false_neg);
	put(y, r->x, w, A_NORMAL, "noisy     ");
	put(y, r->x + 10, 7, pair_attr(PAIR_CLEAN), "%6d", q->false_pos);
	put(y++, r->x + 17, 7, pair_attr(PAIR_NOISY), "%6d", q->true_pos);
	put(y++, r->x, w, A_NORMAL, "P %s  R %s", out_num(b[0], 16, q->precision, 3), out_num(b[1], 16, q->recall, 3));
	put(y++, r->x, w, A_BOLD, "F1 %s  AUROC %s", out_num(b[2], 16, q->f1, 3), out_num(b[3], 16, q->auroc_posterior, 3));
	put(y++, r->x, w, A_NORMAL, "GMM iter %d%s", g->iter, g->degenerate ? " degenerate" : g->converged ? " converged" : "");
	put(y++, r->x, w, A_NORMAL, "loglik %.4f /sample", g->loglik);
	put(y, r->x, w, pair_attr(PAIR_CLEAN), "c m%.3f v%.4f w%.2f", m->hist.mean[0], m->hist.var[0], m->hist.weight[0]);
	y++;
	put(y, r->x, w, pair_attr(PAIR_NOISY), "n m%.3f v%.4f w%.2f", m->hist.mean[1], m->hist.var[1], m->hist.weight[1]);
}

/* ---- noise transition matrix ---- */

static void draw_noise(const dash_state *s, const rect *r)
{
	static const char *const shades[5] = { " ", "░", "▒", "▓", "█" };
	static const char ascii_shades[5] = { ' ', '.', ':', '*', '#' };
	const meter_matrix *m = &s->meters.noise;
	int C = m->n_classes, cell;
	char buf[40];

	snprintf(buf, sizeof buf, "NOISE %.3f true/given", s->meters.noise_rate);
	title(r, buf);
	if (!s->meters.noise_valid) {
		put(r->y + 2, r->x + 1, r->w - 2, A_NORMAL, "no data loaded");
		return;
	}
	cell = 2 + C * 2 <= r->w - 1 ? 2 : 1;
	if (C > r->h - 2 || 2 + C * cell > r->w - 1) {
		put(r->y + 2, r->x + 1, r->w - 2, A_NORMAL, "%d classes: 'noise show'", C);
		return;
	}
	for (int t = 0; t < C; t++) {
		put(r->y + 1 + t, r->x, 2, A_NORMAL, "%d", t % 10);
		for (int g = 0; g < C; g++) {
			double v = m->frac[t * C + g];
			int level = m->count[t * C + g] == 0 ? 0 : 1 + meter_level(v, 0.0, 1.0, 4);
			attr_t attr = pair_attr(t == g ? PAIR_CLEAN : PAIR_NOISY);

			for (int k = 0; k < cell; k++)
				glyph(r->y + 1 + t, r->x + 2 + g * cell + k, attr, shades[level], ascii_shades[level]);
		}
	}
	put(r->y + 1 + C, r->x, r->w - 1, A_NORMAL, "diagonal %.3f", meter_matrix_diagonal(m));
}

/* ---- per-class clean rates ---- */

static void class_bar(int y, int x, int width, double actual, double predicted, int head_b)
{
	int fill = isfinite(actual) ? (int)lround(actual * width * 8) : 0;

	for (int i = 0; i < width; i++) {
		int e = fill - i * 8;

		e = clamp_int(e, 0, 8);
		glyph(y, x + i, pair_attr(PAIR_CLEAN), e ? eighths[e] : "·", e ? ascii_eighths[e] : '.');
	}
	if (isfinite(predicted)) {
		int col = (int)(predicted * width);

		col = col >= width ? width - 1 : col;
		glyph(y, x + col, pair_attr(head_b ? PAIR_HEAD_B : PAIR_HEAD_A) | A_BOLD | A_REVERSE, "┃", '|');
	}
}

static void draw_classes(const dash_state *s, const rect *r)
{
	const meter_classes *m = &s->meters.classes;
	const dataset *d = s->wb->data;
	int bar = r->w - 1 - 9 - 10;
	char buf[64], b[2][16];

	snprintf(buf, sizeof buf, "CLEAN RATE by label  bar=actual %s=pred %c", use_utf8 ? "┃" : "|", 'A' + s->head);
	title(r, buf);
	if (!s->meters.classes_valid || !d) {
		put(r->y + 2, r->x + 1, r->w - 2, A_NORMAL, "no data loaded");
		return;
	}
	for (int c = 0; c < m->n_classes && c < r->h - 1; c++) {
		int y = r->y + 1 + c;

		if (c == r->h - 2 && m->n_classes > r->h - 1) {
			put(y, r->x, r->w - 1, A_NORMAL, "... %d more classes", m->n_classes - c);
			break;
		}
		put(y, r->x, 9, A_NORMAL, "%-8.8s", d->class_names ? d->class_names[c] : "");
		class_bar(y, r->x + 9, bar, m->clean[c], m->pred_clean[c], s->head);
		put(y, r->x + 9 + bar, 10, A_NORMAL, " %s %s", out_num(b[0], 16, m->clean[c], 2),
		    out_num(b[1], 16, m->pred_clean[c], 2));
	}
}

/* ---- output pane, keys, help ---- */

static void draw_pane(const dash_state *s, const rect *r)
{
	const dash_pane *p = &s->pane;
	int first = p->count > r->h ? p->count - r->h : 0;

	for (int i = first; i < p->count; i++) {
		int is_error;
		const char *line = dash_pane_line(p, i, &is_error);

		put(r->y + i - first, r->x, r->w, is_error ? pair_attr(PAIR_ERROR) | A_BOLD : A_NORMAL, "%s", line);
	}
}

static void draw_keys(const dash_state *s, const rect *r)
{
	int x = 0;

	if (s->editing) {
		put(r->y, 0, r->w, A_BOLD, ":%s", s->cmdline);
		put(r->y, 1 + s->cmd_len < r->w ? 1 + s->cmd_len : r->w - 1, 1, A_REVERSE, " ");
		return;
	}
	for (const dash_key *k = dash_keys; k->key && x < r->w; k++) {
		put(r->y, x, r->w - x, A_REVERSE | A_BOLD, "%c", k->key);
		put(r->y, x + 1, r->w - x - 1, A_NORMAL, " %s ", k->label);
		x += (int)strlen(k->label) + 3;
	}
	if (s->message[0] && x + 2 < r->w)
		put(r->y, x + 1, r->w - x - 1, A_BOLD, "%s", s->message);
}

static void draw_help(const rect *screen)
{
	int n = 0, w = 70, h, y0, x0;

	for (const dash_key *k = dash_keys; k->key; k++)
		n++;
	h = n + 4;
	y0 = (screen->h - h) / 2;
	x0 = (screen->w - w) / 2;
	for (int y = 0; y < h; y++)
		put(y0 + y, x0, w, A_REVERSE, "%*s", w, "");
	put(y0 + 1, x0 + 2, w - 4, A_REVERSE | A_BOLD, "Keys (each shown at the bottom; '?' or Escape closes this)");
	for (int i = 0; i < n; i++) {
		const dash_key *k = &dash_keys[i];

		put(y0 + 2 + i, x0 + 2, w - 4, A_REVERSE, "%c  %-9s %s", k->key, k->label, k->help);
	}
}

void dash_draw(dash_state *s)
{
	layout l;
	int rows, cols;

	getmaxyx(stdscr, rows, cols);
	erase();
	if (rows < DASH_MIN_ROWS || cols < DASH_MIN_COLS) {
		put(0, 0, cols, A_BOLD, "terminal is %dx%d: the dashboard needs %dx%d", cols, rows, DASH_MIN_COLS, DASH_MIN_ROWS);
		put(1, 0, cols, A_NORMAL, "enlarge it, or 'q' for the prompt");
		wnoutrefresh(stdscr);
		doupdate();
		return;
	}
	layout_compute(rows, cols, &l);
	if (s->hist_width != l.hist.w - 1) {
		s->hist_width = l.hist.w - 1;
		dash_meters_refresh(s);
	}
	draw_header(s, &l.header);
	draw_acc(s, &l.acc);
	draw_hist(s, &l.hist);
	draw_split(s, &l.split);
	draw_noise(s, &l.noise);
	draw_classes(s, &l.classes);
	draw_pane(s, &l.pane);
	draw_keys(s, &l.keys);
	if (s->help_shown)
		draw_help(&(rect){ 0, 0, rows, cols });
	wnoutrefresh(stdscr);
	doupdate();
}
