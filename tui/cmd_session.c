/* Commands of the session group (filled in by its own module). */
#include "config.h"

#include "commands.h"

const command commands_session[] = {
	{ NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL, NULL }
};
