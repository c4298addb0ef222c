/* Drawing helpers shared by the figures: page, axes with ticks, lines,
 * legends and text, in points, on any cairo surface.  Internal to plots/. */
#ifndef TP_FIGURE_H
#define TP_FIGURE_H

#include <cairo.h>

typedef struct fig_rgb {
	double r, g, b;
} fig_rgb;

/* The fixed colour of each role (Okabe-Ito palette), the same in every figure. */
typedef enum {
	ROLE_HEAD_A,
	ROLE_HEAD_B,
	ROLE_ENSEMBLE,
	ROLE_TARGET,
	ROLE_CLEAN,
	ROLE_NOISY,
	ROLE_COUNT
} fig_role;

extern const fig_rgb fig_palette[ROLE_COUNT];

#define FIG_FONT "DejaVu Sans"
#define FIG_TITLE_PT 10.0
#define FIG_LABEL_PT 9.0
#define FIG_TICK_PT 8.0

typedef struct fig {
	cairo_t *cr;
	double width, height;               /* page in points */
	double left, right, top, bottom;    /* plot area edges in points, top < bottom */
	double xmin, xmax, ymin, ymax;      /* data range of the plot area */
	int y_ticks;                        /* 0: fig_axes draws no y ticks (rows are labelled) */
} fig;

typedef enum { ALIGN_LEFT, ALIGN_CENTRE, ALIGN_RIGHT } fig_align;

/* Paints the page white, writes the title and sets the plot area with the
 * usual margins for tick labels and axis titles. */
void fig_begin(fig *f, cairo_t *cr, double width, double height, const char *title);

/* Draws the frame, ticks, tick labels and axis titles for the data range.
 * x_integer: x ticks only at whole numbers (epochs). */
void fig_axes(fig *f, double xmin, double xmax, double ymin, double ymax,
	      const char *xlabel, const char *ylabel, int x_integer);

double fig_x(const fig *f, double x);
double fig_y(const fig *f, double y);

/* A line through n points, broken at NAN values, clipped to the plot area. */
void fig_polyline(fig *f, const double *x, const double *y, int n, fig_rgb colour,
		  double line_width, int dashed);

/* A filled circle at each finite point. */
void fig_markers(fig *f, const double *x, const double *y, int n, fig_rgb colour);

typedef enum { LEGEND_LINE, LEGEND_DASHED, LEGEND_BOX } legend_style;

typedef struct fig_legend_item {
	const char *label;
	fig_rgb colour;
	legend_style style;
} fig_legend_item;

/* A legend box inside the plot area; at_top: top right, else bottom right. */
void fig_legend(fig *f, const fig_legend_item *items, int n, int at_top);

/* A legend in rows under the title, wrapped to the page width; moves the
 * top of the plot area down below it.  Call before fig_axes. */
void fig_legend_rows(fig *f, const fig_legend_item *items, int n);

/* Text at (x, y) in points, y the baseline; angle in radians. */
void fig_text(cairo_t *cr, double x, double y, double size, fig_align align,
	      double angle, const char *text);

void fig_set_colour(cairo_t *cr, fig_rgb c);

#endif
