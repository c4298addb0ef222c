#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>

#include "files.h"
#include "plot.h"
#include "plot_draw.h"

const char *const plot_kind_names[] = {
	"acc", "gmm", "split", "noise", "confusion", "classes", NULL
};

plot_format plot_format_from_path(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (!dot)
		return PLOT_FORMAT_UNKNOWN;
	if (strcasecmp(dot, ".png") == 0)
		return PLOT_FORMAT_PNG;
	if (strcasecmp(dot, ".svg") == 0)
		return PLOT_FORMAT_SVG;
	if (strcasecmp(dot, ".pdf") == 0)
		return PLOT_FORMAT_PDF;
	return PLOT_FORMAT_UNKNOWN;
}

int plot_kind_parse(const char *name, plot_kind *kind)
{
	for (int k = 0; k < PLOT_KIND_COUNT; k++)
		if (strcmp(plot_kind_names[k], name) == 0) {
			*kind = (plot_kind)k;
			return 0;
		}
	return -1;
}

void plot_size(plot_kind kind, double *width_pt, double *height_pt)
{
	/* one column of a two-column paper: 3.5 in wide */
	*width_pt = 3.5 * 72.0;
	switch (kind) {
	case PLOT_NOISE:
	case PLOT_CONFUSION:
		*height_pt = 3.3 * 72.0;
		break;
	case PLOT_CLASSES:
		*height_pt = 3.0 * 72.0;
		break;
	default:
		*height_pt = 2.6 * 72.0;
		break;
	}
}

/* Fails when the session has nothing for this kind yet, naming what to run. */
static tp_status plot_check(plot_kind kind, const plot_source *src)
{
	const char *name = plot_kind_names[kind];
	int n = 0;

	if (!src->data)
		return tp_fail(TP_ERR_STATE, "plot %s: no data set is loaded: run 'load fashion-mnist' or 'load features' first", name);
	if (src->run && src->head >= train_n_heads(src->run))
		return tp_fail(TP_ERR_STATE, "plot %s: head B exists only with method twin: use --head A or 'method twin'", name);
	if (kind == PLOT_NOISE || kind == PLOT_CLASSES)
		return TP_OK;
	if (!src->run)
		return tp_fail(TP_ERR_STATE, "plot %s: there is no run yet: 'train 1' trains the first epoch", name);
	if (kind == PLOT_ACC || kind == PLOT_SPLIT) {
		train_history(src->run, &n);
		if (n == 0)
			return tp_fail(TP_ERR_STATE, "plot %s: no epochs yet: 'train 1' trains the first epoch", name);
	}
	if (kind == PLOT_GMM) {
		const gmm *g = train_gmm(src->run, src->head);

		if (!g->x || g->n != src->data->n_train)
			return tp_fail(TP_ERR_STATE, "plot gmm: head %c has no GMM yet: run 'gmm init%s' or train an epoch first",
				       'A' + src->head, src->head ? " --head B" : "");
	}
	return TP_OK;
}

static tp_status plot_draw(plot_kind kind, cairo_t *cr, double width, double height,
			   const plot_source *src)
{
	fig f;

	memset(&f, 0, sizeof f);
	f.cr = cr;
	f.width = width;
	f.height = height;
	switch (kind) {
	case PLOT_ACC: return plot_draw_acc(&f, src);
	case PLOT_GMM: return plot_draw_gmm(&f, src);
	case PLOT_SPLIT: return plot_draw_split(&f, src);
	case PLOT_NOISE: return plot_draw_noise(&f, src);
	case PLOT_CONFUSION: return plot_draw_confusion(&f, src);
	case PLOT_CLASSES: return plot_draw_classes(&f, src);
	default: return tp_fail(TP_ERR_VALUE, "plot: unknown kind %d", (int)kind);
	}
}

static cairo_status_t write_file(void *closure, const unsigned char *data, unsigned int length)
{
	return fwrite(data, 1, length, closure) == length ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/* Creates the surface of a format; PNG is an image surface scaled so that
 * drawing in points gives PLOT_PNG_DPI. */
static cairo_surface_t *surface_create(plot_format format, FILE *file, double width, double height)
{
	double px = PLOT_PNG_DPI / 72.0;

	switch (format) {
	case PLOT_FORMAT_PNG:
		return cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)(width * px + 0.5),
						  (int)(height * px + 0.5));
	case PLOT_FORMAT_SVG:
		return cairo_svg_surface_create_for_stream(write_file, file, width, height);
	default:
		return cairo_pdf_surface_create_for_stream(write_file, file, width, height);
	}
}

/* Draws the figure onto surface with draw(fig, data) and writes it out
 * through file; name goes into error messages. */
static tp_status plot_render(plot_draw_fn draw, const void *data, const char *name, plot_format format,
			     cairo_surface_t *surface, FILE *file, double width, double height)
{
	cairo_t *cr = cairo_create(surface);
	cairo_status_t cs;
	fig f;
	tp_status st;

	if (format == PLOT_FORMAT_PNG)
		cairo_scale(cr, PLOT_PNG_DPI / 72.0, PLOT_PNG_DPI / 72.0);
	memset(&f, 0, sizeof f);
	f.cr = cr;
	f.width = width;
	f.height = height;
	st = draw(&f, data);
	cs = cairo_status(cr);
	cairo_destroy(cr);
	if (st != TP_OK)
		return st;
	if (cs == CAIRO_STATUS_SUCCESS && format == PLOT_FORMAT_PNG)
		cs = cairo_surface_write_to_png_stream(surface, write_file, file);
	cairo_surface_finish(surface);
	if (cs == CAIRO_STATUS_SUCCESS)
		cs = cairo_surface_status(surface);
	if (cs != CAIRO_STATUS_SUCCESS)
		return tp_fail(TP_ERR_IO, "plot %s: drawing failed: %s", name, cairo_status_to_string(cs));
	return TP_OK;
}

tp_status plot_file(const char *path, const char *name, double width, double height,
		    plot_draw_fn draw, const void *data)
{
	plot_format format = plot_format_from_path(path);
	cairo_surface_t *surface;
	FILE *file;
	tp_status st;

	if (format == PLOT_FORMAT_UNKNOWN)
		return tp_fail(TP_ERR_VALUE, "plot: '%s' has no known extension: end the name in .png, .svg or .pdf", path);
	files_make_parents(path);
	file = fopen(path, "wb");
	if (!file)
		return tp_fail(TP_ERR_IO, "plot: cannot write '%s': %s: check that the folder exists and is writable",
			       path, strerror(errno));
	surface = surface_create(format, file, width, height);
	st = plot_render(draw, data, name, format, surface, file, width, height);
	cairo_surface_destroy(surface);
	if (fclose(file) != 0 && st == TP_OK)
		st = tp_fail(TP_ERR_IO, "plot: writing '%s' failed: %s", path, strerror(errno));
	return st;
}

typedef struct kind_source {
	plot_kind kind;
	const plot_source *src;
} kind_source;

static tp_status draw_kind(fig *f, const void *data)
{
	const kind_source *ks = data;

	return plot_draw(ks->kind, f->cr, f->width, f->height, ks->src);
}

tp_status plot_write(plot_kind kind, const plot_source *src, const char *path)
{
	kind_source ks = { kind, src };
	double width, height;
	tp_status st;

	if (plot_format_from_path(path) == PLOT_FORMAT_UNKNOWN)
		return tp_fail(TP_ERR_VALUE, "plot: '%s' has no known extension: end the name in .png, .svg or .pdf", path);
	st = plot_check(kind, src);
	if (st != TP_OK)
		return st;
	plot_size(kind, &width, &height);
	return plot_file(path, plot_kind_names[kind], width, height, draw_kind, &ks);
}
