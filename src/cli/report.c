/* report.c: the one place the command layer prints an error line, and
 * the one place it catches the signals that end or detach a run. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

void bd_report(const char *msg) { fprintf(stderr, "bidora: %s\n", msg); }

void bd_catch_signals(void (*fn)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn; /* no SA_RESTART: a signal wakes a blocking wait */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}
