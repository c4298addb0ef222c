/* The one header that includes curses (ncursesw, with wide characters). */
#ifndef TP_DASH_CURSES_H
#define TP_DASH_CURSES_H

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>

#endif
