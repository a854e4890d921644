/* commands.h: the subcommands of the bidora binary. Each returns the exit
 * status: 0 success, 1 usage or bad input (one line on stderr naming the
 * file and what is wrong), 2 runtime failure. */
#ifndef BD_COMMANDS_H
#define BD_COMMANDS_H

int bd_cmd_info(int argc, char **argv);
int bd_cmd_eval(int argc, char **argv);
int bd_cmd_train(int argc, char **argv);
/* The workbench (ui/app.c): `bidora` with no arguments, or `bidora tui`. */
int bd_cmd_tui(int argc, char **argv);

/* Print "bidora: MSG" on stderr (the single error line). */
void bd_report(const char *msg);

#endif
