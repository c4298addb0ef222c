/* The CLIP model of the workbench and its settings, for the commands of
 * other groups: `set` tries cmd_model_set() on keys it does not know, and
 * `show config` prints the head with cmd_model_show_head(). */
#ifndef TP_CMD_MODEL_H
#define TP_CMD_MODEL_H

#include "clip_model.h"
#include "commands.h"
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

/* The loaded CLIP model, or NULL before 'load model'. */
const clip_model *cmd_model_current(void);

/* Exec functions of the image commands (tui/cmd_images.c), listed in the
 * model group's table. */
tp_status cmd_load_images(workbench *wb, const command *cmd, const cmd_args *a);
tp_status cmd_encode_images(workbench *wb, const command *cmd, const cmd_args *a);
extern const cmd_option load_images_options[];
extern const cmd_option encode_images_options[];

#endif
