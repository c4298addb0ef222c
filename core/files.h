/* Small file-system helpers shared by the modules that write files. */
#ifndef TP_FILES_H
#define TP_FILES_H

/* Creates the folders above path that do not exist yet, as mkdir -p does.
 * Failures are left for the caller's open of path to report. */
void files_make_parents(const char *path);

#endif
