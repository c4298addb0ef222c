#include "config.h"

#include <math.h>
#include <stdio.h>

#include "figure.h"

/* Okabe & Ito, "Color Universal Design" (2008), in sRGB. */
const fig_rgb fig_palette[ROLE_COUNT] = {
	[ROLE_HEAD_A] = { 0.000, 0.447, 0.698 },   /* blue #0072B2 */
	[ROLE_HEAD_B] = { 0.902, 0.624, 0.000 },   /* orange #E69F00 */
	[ROLE_ENSEMBLE] = { 0.800, 0.475, 0.655 }, /* reddish purple #CC79A7 */
	[ROLE_TARGET] = { 0.400, 0.400, 0.400 },   /* grey */
	[ROLE_CLEAN] = { 0.000, 0.620, 0.451 },    /* bluish green #009E73 */
	[ROLE_NOISY] = { 0.835, 0.369, 0.000 },    /* vermillion #D55E00 */
};

void fig_set_colour(cairo_t *cr, fig_rgb c)
{
	cairo_set_source_rgb(cr, c.r, c.g, c.b);
}

static void text_draw(cairo_t *cr, double x, double y, double size, fig_align align,
		      double angle, const char *text, int bold)
{
	cairo_text_extents_t ext;
	double shift = 0.0;

	cairo_save(cr);
	cairo_select_font_face(cr, FIG_FONT, CAIRO_FONT_SLANT_NORMAL,
			       bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, size);
	cairo_text_extents(cr, text, &ext);
	if (align == ALIGN_CENTRE)
		shift = -ext.x_advance / 2.0;
	else if (align == ALIGN_RIGHT)
		shift = -ext.x_advance;
	cairo_translate(cr, x, y);
	cairo_rotate(cr, angle);
	cairo_move_to(cr, shift, 0.0);
	cairo_show_text(cr, text);
	cairo_restore(cr);
}

void fig_text(cairo_t *cr, double x, double y, double size, fig_align align,
	      double angle, const char *text)
{
	text_draw(cr, x, y, size, align, angle, text, 0);
}

/* The title's font size: FIG_TITLE_PT, or less down to 7 pt so that it fits. */
static double title_size(cairo_t *cr, double room, const char *title)
{
	cairo_text_extents_t ext;
	double size = FIG_TITLE_PT;

	cairo_save(cr);
	cairo_select_font_face(cr, FIG_FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
	cairo_set_font_size(cr, FIG_TITLE_PT);
	cairo_text_extents(cr, title, &ext);
	cairo_restore(cr);
	if (ext.x_advance > room)
		size = FIG_TITLE_PT * room / ext.x_advance;
	return size < 7.0 ? 7.0 : size;
}

void fig_begin(fig *f, cairo_t *cr, double width, double height, const char *title)
{
	f->cr = cr;
	f->width = width;
	f->height = height;
	f->left = 40.0;
	f->right = width - 8.0;
	f->top = 22.0;
	f->bottom = height - 30.0;
	f->xmin = f->ymin = 0.0;
	f->xmax = f->ymax = 1.0;
	f->y_ticks = 1;

	cairo_set_source_rgb(cr, 1.0, 1.0, 1.0);
	cairo_paint(cr);
	cairo_set_source_rgb(cr, 0.0, 0.0, 0.0);
	text_draw(cr, width / 2.0, 13.0, title_size(cr, width - 10.0, title), ALIGN_CENTRE, 0.0, title, 1);
}

double fig_x(const fig *f, double x)
{
	return f->left + (x - f->xmin) / (f->xmax - f->xmin) * (f->right - f->left);
}

double fig_y(const fig *f, double y)
{
	return f->bottom - (y - f->ymin) / (f->ymax - f->ymin) * (f->bottom - f->top);
}

/* A step of 1, 2 or 5 times a power of ten that gives about target ticks. */
static double tick_step(double span, int target, int integer)
{
	double raw = span / target;
	double base = pow(10.0, floor(log10(raw)));
	double step = base;

	if (raw / base > 5.0)
		step = 10.0 * base;
	else if (raw / base > 2.0)
		step = 5.0 * base;
	else if (raw / base > 1.0)
		step = 2.0 * base;
	if (integer && step < 1.0)
		step = 1.0;
	return step;
}

static void tick_label(double v, double step, char *buf, size_t size)
{
	int decimals = step >= 1.0 ? 0 : (int)ceil(-log10(step) - 1e-9);

	snprintf(buf, size, "%.*f", decimals, fabs(v) < 1e-12 ? 0.0 : v);
}

static void axis_ticks_x(fig *f, int integer)
{
	cairo_t *cr = f->cr;
	double step = tick_step(f->xmax - f->xmin, 5, integer);

	for (double v = ceil(f->xmin / step - 1e-9) * step; v <= f->xmax + 1e-9 * step; v += step) {
		char buf[32];
		double x = fig_x(f, v);

		cairo_move_to(cr, x, f->bottom);
		cairo_line_to(cr, x, f->bottom + 3.0);
		cairo_stroke(cr);
		tick_label(v, step, buf, sizeof buf);
		fig_text(cr, x, f->bottom + 11.0, FIG_TICK_PT, ALIGN_CENTRE, 0.0, buf);
	}
}

static void axis_ticks_y(fig *f)
{
	cairo_t *cr = f->cr;
	double step = tick_step(f->ymax - f->ymin, 5, 0);

	for (double v = ceil(f->ymin / step - 1e-9) * step; v <= f->ymax + 1e-9 * step; v += step) {
		char buf[32];
		double y = fig_y(f, v);

		cairo_move_to(cr, f->left - 3.0, y);
		cairo_line_to(cr, f->left, y);
		cairo_stroke(cr);
		tick_label(v, step, buf, sizeof buf);
		fig_text(cr, f->left - 5.0, y + 3.0, FIG_TICK_PT, ALIGN_RIGHT, 0.0, buf);
	}
}

/* Width of the widest y tick label in points. */
static double y_tick_width(fig *f)
{
	cairo_t *cr = f->cr;
	double step = tick_step(f->ymax - f->ymin, 5, 0), widest = 0.0;
	cairo_text_extents_t ext;

	cairo_save(cr);
	cairo_select_font_face(cr, FIG_FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, FIG_TICK_PT);
	for (double v = ceil(f->ymin / step - 1e-9) * step; v <= f->ymax + 1e-9 * step; v += step) {
		char buf[32];

		tick_label(v, step, buf, sizeof buf);
		cairo_text_extents(cr, buf, &ext);
		widest = ext.x_advance > widest ? ext.x_advance : widest;
	}
	cairo_restore(cr);
	return widest;
}

void fig_axes(fig *f, double xmin, double xmax, double ymin, double ymax,
	      const char *xlabel, const char *ylabel, int x_integer)
{
	cairo_t *cr = f->cr;

	f->xmin = xmin;
	f->xmax = xmax > xmin ? xmax : xmin + 1.0;
	f->ymin = ymin;
	f->ymax = ymax > ymin ? ymax : ymin + 1.0;
	/* room for the tick labels between the axis title and the frame */
	if (f->y_ticks && f->left < 16.0 + y_tick_width(f) + 6.0)
		f->left = 16.0 + y_tick_width(f) + 6.0;

	cairo_save(cr);
	cairo_set_source_rgb(cr, 0.0, 0.0, 0.0);
	cairo_set_line_width(cr, 0.6);
	cairo_rectangle(cr, f->left, f->top, f->right - f->left, f->bottom - f->top);
	cairo_stroke(cr);
	axis_ticks_x(f, x_integer);
	if (f->y_ticks)
		axis_ticks_y(f);
	fig_text(cr, (f->left + f->right) / 2.0, f->height - 6.0, FIG_LABEL_PT, ALIGN_CENTRE, 0.0, xlabel);
	fig_text(cr, 10.0, (f->top + f->bottom) / 2.0, FIG_LABEL_PT, ALIGN_CENTRE, -M_PI / 2.0, ylabel);
	cairo_restore(cr);
}

static void clip_to_area(fig *f)
{
	cairo_rectangle(f->cr, f->left, f->top, f->right - f->left, f->bottom - f->top);
	cairo_clip(f->cr);
}

void fig_polyline(fig *f, const double *x, const double *y, int n, fig_rgb colour,
		  double line_width, int dashed)
{
	static const double dash[] = { 3.0, 2.0 };
	cairo_t *cr = f->cr;
	int drawing = 0;

	cairo_save(cr);
	clip_to_area(f);
	fig_set_colour(cr, colour);
	cairo_set_line_width(cr, line_width);
	cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
	if (dashed)
		cairo_set_dash(cr, dash, 2, 0.0);
	for (int i = 0; i < n; i++) {
		if (!isfinite(x[i]) || !isfinite(y[i])) {
			drawing = 0;
			continue;
		}
		if (drawing)
			cairo_line_to(cr, fig_x(f, x[i]), fig_y(f, y[i]));
		else
			cairo_move_to(cr, fig_x(f, x[i]), fig_y(f, y[i]));
		drawing = 1;
	}
	cairo_stroke(cr);
	cairo_restore(cr);
}

void fig_markers(fig *f, const double *x, const double *y, int n, fig_rgb colour)
{
	cairo_t *cr = f->cr;

	cairo_save(cr);
	fig_set_colour(cr, colour);
	for (int i = 0; i < n; i++) {
		if (!isfinite(x[i]) || !isfinite(y[i]))
			continue;
		cairo_new_sub_path(cr);
		cairo_arc(cr, fig_x(f, x[i]), fig_y(f, y[i]), 1.4, 0.0, 2.0 * M_PI);
	}
	cairo_fill(cr);
	cairo_restore(cr);
}

static void legend_swatch(cairo_t *cr, const fig_legend_item *it, double x, double y)
{
	static const double dash[] = { 3.0, 2.0 };

	fig_set_colour(cr, it->colour);
	if (it->style == LEGEND_BOX) {
		cairo_rectangle(cr, x, y - 5.0, 10.0, 6.0);
		cairo_fill(cr);
		return;
	}
	cairo_set_line_width(cr, 1.4);
	if (it->style == LEGEND_DASHED)
		cairo_set_dash(cr, dash, 2, 0.0);
	cairo_move_to(cr, x, y - 2.0);
	cairo_line_to(cr, x + 12.0, y - 2.0);
	cairo_stroke(cr);
	cairo_set_dash(cr, NULL, 0, 0.0);
}

void fig_legend(fig *f, const fig_legend_item *items, int n, int at_top)
{
	cairo_t *cr = f->cr;
	double row = FIG_TICK_PT + 2.0;
	double width = 0.0, height = n * row + 4.0;
	double x, y;

	cairo_save(cr);
	cairo_select_font_face(cr, FIG_FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, FIG_TICK_PT);
	for (int i = 0; i < n; i++) {
		cairo_text_extents_t ext;

		cairo_text_extents(cr, items[i].label, &ext);
		width = ext.x_advance > width ? ext.x_advance : width;
	}
	width += 22.0;
	x = f->right - width - 4.0;
	y = at_top ? f->top + 4.0 : f->bottom - height - 4.0;

	cairo_set_source_rgba(cr, 1.0, 1.0, 1.0, 0.85);
	cairo_rectangle(cr, x, y, width, height);
	cairo_fill_preserve(cr);
	cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
	cairo_set_line_width(cr, 0.4);
	cairo_stroke(cr);
	for (int i = 0; i < n; i++) {
		double base = y + 2.0 + (i + 1) * row - 2.0;

		legend_swatch(cr, &items[i], x + 4.0, base);
		cairo_set_source_rgb(cr, 0.0, 0.0, 0.0);
		fig_text(cr, x + 19.0, base, FIG_TICK_PT, ALIGN_LEFT, 0.0, items[i].label);
	}
	cairo_restore(cr);
}

static double label_width(cairo_t *cr, const char *text)
{
	cairo_text_extents_t ext;

	cairo_text_extents(cr, text, &ext);
	return ext.x_advance;
}

void fig_legend_rows(fig *f, const fig_legend_item *items, int n)
{
	cairo_t *cr = f->cr;
	double row = FIG_TICK_PT + 3.0;
	double x = f->left, y = f->top + FIG_TICK_PT;

	cairo_save(cr);
	cairo_select_font_face(cr, FIG_FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, FIG_TICK_PT);
	for (int i = 0; i < n; i++) {
		double w = 19.0 + label_width(cr, items[i].label) + 8.0;

		if (x + w > f->width - 4.0 && x > f->left) {
			x = f->left;
			y += row;
		}
		legend_swatch(cr, &items[i], x, y);
		cairo_set_source_rgb(cr, 0.0, 0.0, 0.0);
		fig_text(cr, x + 15.0, y, FIG_TICK_PT, ALIGN_LEFT, 0.0, items[i].label);
		x += w;
	}
	cairo_restore(cr);
	f->top = y + 6.0;
}
