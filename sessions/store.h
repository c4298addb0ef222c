/* The session store: one SQLite file of journals, configurations and
 * checkpoints. */
#ifndef TP_STORE_H
#define TP_STORE_H

/* Version of the store's schema this build writes. */
int store_schema_version(void);

#endif
