/* The full-screen dashboard (ncurses). */
#include "config.h"

#include "commands.h"

const command commands_dashboard[] = {
	{ NULL, NULL, NULL, NULL, 0, 0, 0, NULL, NULL, NULL }
};
