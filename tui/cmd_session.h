/* The session recorder: connects the workbench to the session store.
 *
 * It registers a workbench observer that writes every state-changing
 * command to the journal and every finished epoch, with a checkpoint of
 * the run, to the store, each in one transaction.  The session row and a
 * missing store file are created at the first recorded command, so a run of
 * twinprompt that only reads (help, sessions) leaves nothing behind.  The commands of the group commands_session (save,
 * open, sessions, history, replay, runs, compare, export metrics) read and
 * use the same store. */
#ifndef TP_CMD_SESSION_H
#define TP_CMD_SESSION_H

#include "workbench.h"

/* Starts recording wb into the store at path; path NULL turns recording
 * off.  An existing file is checked now: when it cannot be used (not a
 * store, corrupt, read-only), the error is printed and twinprompt goes on
 * without recording.  announce 1 prints the session's name when recording
 * begins (for the interactive prompt).  Returns 0, or -1 when recording is
 * off because of such an error. */
int session_start(workbench *wb, const char *path, int announce);

/* Closes the store.  Everything recorded is committed already. */
void session_stop(void);

#endif
