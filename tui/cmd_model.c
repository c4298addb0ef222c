/* Commands of the model group (filled in by its own module). */
#include "config.h"

#include "commands.h"

const command commands_model[] = {
	{ NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL, NULL }
};
