/* report.c: the one place the command layer prints an error line. */
#include <stdio.h>

#include "commands.h"

void bd_report(const char *msg) { fprintf(stderr, "bidora: %s\n", msg); }
