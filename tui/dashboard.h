/* The full-screen dashboard: state shared by its loop (dashboard.c) and its
 * drawing (dash_draw.c, the only file that talks to curses).
 *
 * States of one open dashboard:
 *   running  the loop trains a time slice of batches (train_advance) between
 *            key polls and redraws at most DASH_REDRAW_SECONDS apart
 *   paused   the loop waits for keys; 'p', Ctrl-C and the end of the
 *            schedule move from running to paused, 'p' back
 *   editing  ':' reads a command line; Enter runs it, Escape cancels
 * 'q' (or ':quit') closes the dashboard from any state; the terminal is
 * restored on every way out, errors and SIGTERM/SIGHUP included. */
#ifndef TP_DASHBOARD_H
#define TP_DASHBOARD_H

#include "meter.h"
#include "workbench.h"

#define DASH_MIN_COLS 80
#define DASH_MIN_ROWS 24
#define DASH_PANE_LINES 200
#define DASH_LINE_MAX 200
#define DASH_CMDLINE_MAX 256

/* Keys returned by dash_screen_key() besides plain characters. */
enum {
	DASH_KEY_NONE = -1,
	DASH_KEY_RESIZE = -2,
	DASH_KEY_ENTER = -3,
	DASH_KEY_BACKSPACE = -4,
	DASH_KEY_ESCAPE = -5
};

/* A key of the dashboard.  Keys that change the session run a command line
 * of the command table through command_execute(), so that they do exactly
 * what typing the command does; view keys act on the dashboard only. */
typedef struct dash_key {
	int key;
	const char *label;     /* on the keys line */
	const char *command;   /* command line; NULL for a view key */
	int with_head;         /* append "--head A" or "--head B" (the shown head) */
	const char *help;      /* one line for the '?' overlay */
} dash_key;

extern const dash_key dash_keys[];   /* ended by key 0 */

/* Lines of command output and log lines shown in the output pane. */
typedef struct dash_pane {
	char line[DASH_PANE_LINES][DASH_LINE_MAX];
	int is_error[DASH_PANE_LINES];
	int first, count;      /* ring buffer of count lines from first */
	char partial[DASH_LINE_MAX];
	int partial_len;
} dash_pane;

/* The meters behind the panels, recomputed only when their inputs change
 * (a new epoch, a GMM step, new noise), never on a plain redraw. */
typedef struct dash_meters {
	unsigned long signature;  /* hash of the inputs the meters were computed from */
	int hist_valid;
	meter_hist hist;          /* of the shown head, hist.n_bins = panel width */
	int split_valid;
	split_quality split;
	gmm gmm_shown;            /* parameters of the shown head's GMM (no arrays) */
	int noise_valid;
	meter_matrix noise;
	int classes_valid;
	meter_classes classes;
	double noise_rate;        /* realised */
} dash_meters;

typedef struct dash_state {
	workbench *wb;
	int running;
	int head;                 /* 0 = A, 1 = B: the head of the GMM, split and class panels */
	int help_shown;
	int editing;
	char cmdline[DASH_CMDLINE_MAX];
	int cmd_len;
	int utf8;                 /* Unicode blocks and braille; ASCII otherwise */
	int colour;
	int quit;
	int exit_when_done;
	char message[DASH_LINE_MAX];  /* status shown on the header's second half */
	dash_pane pane;
	dash_meters meters;
	int hist_width;           /* columns of the histogram panel at the last layout */
	/* speed: batches and time while running */
	long running_steps;       /* batches the loop trained while running */
	double running_seconds;   /* wall time while running, drawing included */
	double speed;             /* samples per second, smoothed */
	long speed_steps;
	double speed_time;
	long pending_steps;       /* batches trained by the loop, not yet reported to observers */
} dash_state;

/* Opens curses on the terminal: colours unless NO_COLOR is set or the
 * terminal has none, Unicode when the locale's character set is UTF-8.
 * Fails when standard input or output is not a terminal. */
tp_status dash_screen_open(dash_state *s);

/* Restores the terminal; safe to call when it is not open. */
void dash_screen_close(void);

/* Waits up to timeout_ms (0: does not wait) for a key. */
int dash_screen_key(int timeout_ms);

/* Redraws every panel from s and its meters, without flicker. */
void dash_draw(dash_state *s);

/* Recomputes the meters whose inputs changed since the last call. */
void dash_meters_refresh(dash_state *s);
void dash_meters_free(dash_meters *m);

/* Appends text (any number of lines) to the output pane. */
void dash_pane_add(dash_pane *p, const char *text, int is_error);

/* The pane's i-th line from the oldest kept, 0 <= i < p->count. */
const char *dash_pane_line(const dash_pane *p, int i, int *is_error);

#endif
