/* Figures drawn with cairo from the core's state: PNG, SVG or PDF.
 *
 * Every figure is sized for one column of a two-column paper (3.5 in wide,
 * 9 pt labels) and uses the Okabe-Ito colour-blind-safe palette with one
 * fixed colour per role, the same in every figure:
 *   head A   blue        head B      orange      ensemble  reddish purple
 *   clean    bluish green  noisy     vermillion  targets   grey
 * PNG figures are rendered at PLOT_PNG_DPI; SVG and PDF are vector
 * documents measured in points (1/72 in). */
#ifndef TP_PLOT_H
#define TP_PLOT_H

#include "dataset.h"
#include "status.h"
#include "sweep.h"
#include "train.h"

typedef enum {
	PLOT_FORMAT_UNKNOWN,
	PLOT_FORMAT_PNG,
	PLOT_FORMAT_SVG,
	PLOT_FORMAT_PDF
} plot_format;

/* The format named by a file name's extension (case-insensitive). */
plot_format plot_format_from_path(const char *path);

typedef enum {
	PLOT_ACC,        /* test accuracy per epoch of A, B, the ensemble; target accuracy */
	PLOT_GMM,        /* histogram of normalised losses by truth, GMM densities, threshold */
	PLOT_SPLIT,      /* F1 and AUROC of each head's split per epoch */
	PLOT_NOISE,      /* realised noise transition matrix, true against given class */
	PLOT_CONFUSION,  /* test confusion matrix of one head */
	PLOT_CLASSES,    /* per given class: fraction actually clean and predicted clean */
	PLOT_KIND_COUNT
} plot_kind;

/* The kind names in plot_kind order, NULL-terminated (for completion). */
extern const char *const plot_kind_names[];

/* Parses a kind name; returns 0 and sets *kind, or -1 when unknown. */
int plot_kind_parse(const char *name, plot_kind *kind);

#define PLOT_PNG_DPI 300

/* Size of a figure of this kind in points. */
void plot_size(plot_kind kind, double *width_pt, double *height_pt);

/* Where a figure's numbers come from: the session's data, given labels and
 * run. */
typedef struct plot_source {
	const dataset *data;
	const int *given;   /* (n_train) the given labels */
	trainer *run;       /* NULL when no run exists; acc, gmm, split, confusion and classes need one */
	int head;           /* 0 = A, 1 = B (must exist in run) */
	double tau;         /* a sample is predicted clean when p_clean >= tau */
	const char *caption;/* added to the title in brackets, e.g. "twin, sym 0.40"; may be NULL */
} plot_source;

/* Draws a figure of kind from src into path, the format taken from its
 * extension, creating missing folders above it.  Fails with TP_ERR_VALUE on an unknown extension,
 * TP_ERR_STATE when there is nothing to plot yet (naming what to run
 * first), and TP_ERR_IO when the file cannot be written.  The checks for
 * something to plot come before the file is opened, so only a failed write
 * can leave a partial file behind. */
tp_status plot_write(plot_kind kind, const plot_source *src, const char *path);

/* The lines of a sweep figure: its rows (method and selector), noise kinds
 * and rates, taken from a runs file's results at the epochs of the first. */
typedef struct plot_sweep_data {
	int n_rows;
	train_method methods[SWEEP_MAX_ITEMS];
	int selectors[SWEEP_MAX_ITEMS];    /* -1 for methods without one */
	int n_kinds;
	noise_kind kinds[SWEEP_MAX_ITEMS];
	int n_rates;
	double rates[SWEEP_MAX_ITEMS];     /* increasing */
	int epochs;
	const sweep_result *results;
	int n_results;
} plot_sweep_data;

/* Collects the rows, kinds and rates of results; TP_ERR_STATE when empty. */
tp_status plot_sweep_layout(const sweep_result *results, int n, plot_sweep_data *out);

/* Draws final test accuracy (mean over seeds, error bars of one standard
 * deviation) against noise rate: one colour per row, a dashed line for the
 * second noise kind.  The format follows path's extension. */
tp_status plot_sweep_write(const sweep_result *results, int n, const char *path);

#endif
