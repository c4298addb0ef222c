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

#endif
