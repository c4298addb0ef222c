#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "files.h"

void files_make_parents(const char *path)
{
	char *copy = strdup(path);

	if (!copy)
		return;
	for (char *slash = strchr(copy + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(copy, 0777);
		*slash = '/';
	}
	free(copy);
}
