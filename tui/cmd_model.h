/* The CLIP model of the workbench and its settings, for the commands of
 * other groups: `set` tries cmd_model_set() on keys it does not know, and
 * `show config` prints the head with cmd_model_show_head(). */
#ifndef TP_CMD_MODEL_H
#define TP_CMD_MODEL_H

#include "status.h"
#include "workbench.h"

/* The setting names of the model group, NULL-terminated (for completion). */
extern const char *const model_setting_names[];

/* Applies the model setting key = value (head, n_ctx, csc, class_position,
 * ctx_init, coop_mode, chunk_mb).  Returns 0 when key is not a model
 * setting; otherwise 1, with the outcome in *status. */
int cmd_model_set(workbench *wb, const char *key, const char *value, tp_status *status);

/* Prints the head line of `show config` with the model and the CoOp
 * settings; returns 0 (printing nothing) while the vector head is chosen
 * and no model is loaded. */
int cmd_model_show_head(const workbench *wb);

#endif
