/* Figures drawn with cairo from the core's state: PNG, SVG or PDF. */
#ifndef TP_PLOT_H
#define TP_PLOT_H

typedef enum {
	PLOT_FORMAT_UNKNOWN,
	PLOT_FORMAT_PNG,
	PLOT_FORMAT_SVG,
	PLOT_FORMAT_PDF
} plot_format;

/* The format named by a file name's extension (case-insensitive). */
plot_format plot_format_from_path(const char *path);

#endif
