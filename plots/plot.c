#include "config.h"

#include <string.h>
#include <strings.h>

#include "plot.h"

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
