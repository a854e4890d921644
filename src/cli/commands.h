/* commands.h: the subcommands of the bidora binary. Each returns the exit
 * status: 0 success, 1 usage or bad input (one line on stderr naming the
 * file and what is wrong), 2 runtime failure. */
#ifndef BD_COMMANDS_H
#define BD_COMMANDS_H

#include <stddef.h>
#include <stdio.h>
#include "err.h"

int bd_cmd_info(int argc, char **argv);
int bd_cmd_eval(int argc, char **argv);
int bd_cmd_train(int argc, char **argv);
/* The workbench (ui/app.c): `bidora` with no arguments, or `bidora tui`. */
int bd_cmd_tui(int argc, char **argv);

/* cmd_ctl.c: bidora ps, and stop / pause / resume / checkpoint of a live run */
int bd_cmd_ps(int argc, char **argv);
int bd_cmd_control(int argc, char **argv);
/* The workbench on a live run of another process (ui/app.c). */
int bd_cmd_attach(int argc, char **argv);
/* configs/default.ini's out_dir, else "runs". */
void bd_default_out_dir(char *buf, size_t n);
/* RUN as a directory: itself, or a run of that name in the default out_dir. */
int bd_find_run(const char *arg, char *out, size_t n, bd_err *e);
/* The live run of out_dir its process opened last. */
int bd_newest_live_run(const char *out_dir, char *out, size_t n, bd_err *e);

/* fn for SIGINT, SIGTERM and SIGHUP, without SA_RESTART. */
void bd_catch_signals(void (*fn)(int));

/* cli_help.c: the subcommands main() dispatches on (a command may have two
 * lines, one a form), each with the flags its parser takes ("-c --config"). */
typedef struct bd_cli_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *synopsis, *summary, *flags;
} bd_cli_cmd;
extern const bd_cli_cmd bd_cli_cmds[];
extern const int bd_cli_n_cmds;
const bd_cli_cmd *bd_cli_find(const char *name);
/* bidora --help: every command, its forms and its flags. */
void bd_cli_usage(FILE *f);

/* Print "bidora: MSG" on stderr (the single error line). */
void bd_report(const char *msg);

#endif
