/* The command table: one entry per command drives dispatch, `help`, tab
 * completion and (later) dashboard keys and the session journal.
 *
 * A command's name is one or two words ("train", "gmm step").  The words
 * after the name are split into positional arguments and options: `--name
 * value`, `--name=value`, or `--name` alone for a flag.  The table entry lists
 * the options with their types, so parsing and its error messages are the
 * same for every command. */
#ifndef TP_COMMANDS_H
#define TP_COMMANDS_H

#include "status.h"
#include "workbench.h"

typedef enum {
	OPT_FLAG,   /* no value */
	OPT_INT,
	OPT_REAL,
	OPT_WORD,   /* a word from the option's choices */
	OPT_TEXT,   /* any text */
	OPT_PATH    /* a file name (completed as one) */
} opt_type;

typedef struct cmd_option {
	const char *name;            /* without the leading dashes */
	opt_type type;
	const char *value_name;      /* shown in usage: "S", "DIR" */
	const char *help;
	const char *const *choices;  /* OPT_WORD: NULL-terminated list */
} cmd_option;

#define CMD_MAX_OPTIONS 12
#define CMD_MAX_ARGS 8

/* The parsed words after the command name. */
typedef struct cmd_args {
	int argc;
	const char *argv[CMD_MAX_ARGS];
	const char *opt_value[CMD_MAX_OPTIONS];  /* by option index; NULL = absent */
	int opt_given[CMD_MAX_OPTIONS];
	const char *name;                         /* the command's name, for messages */
} cmd_args;

enum {
	CMD_NEEDS_DATA = 1 << 0,   /* fails with a hint when no data set is loaded */
	CMD_CHANGES_STATE = 1 << 1 /* goes to the session journal */
};

typedef struct command command;
struct command {
	const char *name;
	const char *args_usage;      /* positional part of the usage: "RATE" */
	const char *summary;         /* one line for the command list */
	const char *help;            /* paragraph for `help NAME`; may be NULL */
	int min_args;
	int max_args;
	unsigned flags;
	const cmd_option *options;   /* terminated by an entry with name NULL; may be NULL */
	const char *const *arg_words;/* completion words for the first positional, or NULL */
	tp_status (*exec)(workbench *wb, const command *cmd, const cmd_args *a);
};

/* The command table is one list made of groups, one group per source file
 * (core commands, plots, dashboard, sessions, the CLIP model), each an array
 * ended by an entry whose name is NULL.  command_count() and command_at()
 * walk all of them in order; nothing else needs to know the groups. */
extern const command commands_core[];
extern const command commands_plot[];
extern const command commands_dashboard[];
extern const command commands_session[];
extern const command commands_model[];

int command_count(void);
const command *command_at(int i);

/* Finds the command named by the first one or two of words; *used is the
 * number of words the name took.  NULL when unknown. */
const command *command_find(int argc, char **argv, int *used);

/* Parses and runs one command (argv[0] is its first word). */
tp_status command_execute(workbench *wb, int argc, char **argv);

/* Option helpers for exec functions: value parsed with range checks and an
 * error naming the option. */
int cmd_has(const command *cmd, const cmd_args *a, const char *opt);
tp_status cmd_int(const command *cmd, const cmd_args *a, const char *opt,
		  long lo, long hi, long *value);
tp_status cmd_real(const command *cmd, const cmd_args *a, const char *opt,
		   double lo, double hi, double *value);
const char *cmd_str(const command *cmd, const cmd_args *a, const char *opt);

/* Parses a whole positional argument as a number within [lo, hi]. */
tp_status parse_long(const char *what, const char *text, long lo, long hi, long *value);
tp_status parse_double(const char *what, const char *text, double lo, double hi, double *value);

/* Prints the usage line of cmd ("noise sym RATE [--seed S]"). */
void command_print_usage(const command *cmd);

/* Exec functions, grouped by file. */
tp_status cmd_load_fmnist(workbench *, const command *, const cmd_args *);
tp_status cmd_load_features(workbench *, const command *, const cmd_args *);
tp_status cmd_noise_apply(workbench *, const command *, const cmd_args *);
tp_status cmd_noise_show(workbench *, const command *, const cmd_args *);
tp_status cmd_noise_fewshot(workbench *, const command *, const cmd_args *);
tp_status cmd_noise_matrix(workbench *, const command *, const cmd_args *);
tp_status cmd_noise_labels(workbench *, const command *, const cmd_args *);
tp_status cmd_noise_clear(workbench *, const command *, const cmd_args *);
tp_status cmd_method(workbench *, const command *, const cmd_args *);
tp_status cmd_set(workbench *, const command *, const cmd_args *);
tp_status cmd_show_config(workbench *, const command *, const cmd_args *);
tp_status cmd_train(workbench *, const command *, const cmd_args *);
tp_status cmd_eval(workbench *, const command *, const cmd_args *);
tp_status cmd_reset(workbench *, const command *, const cmd_args *);
tp_status cmd_results(workbench *, const command *, const cmd_args *);
tp_status cmd_sweep(workbench *, const command *, const cmd_args *);
tp_status cmd_gmm_init(workbench *, const command *, const cmd_args *);
tp_status cmd_gmm_step(workbench *, const command *, const cmd_args *);
tp_status cmd_gmm_fit(workbench *, const command *, const cmd_args *);
tp_status cmd_gmm_show(workbench *, const command *, const cmd_args *);
tp_status cmd_split_show(workbench *, const command *, const cmd_args *);
tp_status cmd_split_top(workbench *, const command *, const cmd_args *);
tp_status cmd_export_split(workbench *, const command *, const cmd_args *);

/* The setting names `set` accepts, NULL-terminated (for completion). */
extern const char *const setting_names[];

/* Set by SIGINT while a command runs; long work stops at the next boundary. */
extern volatile int interrupt_requested;

#endif
