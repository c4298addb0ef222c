/* The drawing function of each figure kind.  Internal to plots/: plot.c
 * checks that there is something to plot and sets up the surface first. */
#ifndef TP_PLOT_DRAW_H
#define TP_PLOT_DRAW_H

#include "figure.h"
#include "plot.h"

/* Each draws the whole page of fig f (set up by the caller with its size)
 * from src, which has passed plot.c's checks for this kind. */
tp_status plot_draw_acc(fig *f, const plot_source *src);
tp_status plot_draw_gmm(fig *f, const plot_source *src);
tp_status plot_draw_split(fig *f, const plot_source *src);
tp_status plot_draw_noise(fig *f, const plot_source *src);
tp_status plot_draw_confusion(fig *f, const plot_source *src);
tp_status plot_draw_classes(fig *f, const plot_source *src);

/* Draws a whole page on f, whose cairo context and size are set. */
typedef tp_status (*plot_draw_fn)(fig *f, const void *data);

/* Writes the page drawn by draw(fig, data) to path in the format of its
 * extension, width x height points, creating missing folders above it. */
tp_status plot_file(const char *path, const char *name, double width, double height,
		    plot_draw_fn draw, const void *data);

#endif
