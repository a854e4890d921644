/* runs_edit.h: renaming and deleting a run directory from the runs
 * browser, made so that they cannot lose another run's data: both take the
 * run's lock first (a live run, or one that starts meanwhile, is refused),
 * a rename is one rename(2) inside the same out_dir that never replaces
 * what is there (RENAME_NOREPLACE), and a delete removes only the exact
 * directory, after checking it is a bidora run (config.ini or
 * metrics.csv), never following a symbolic link out of it. No curses. */
#ifndef BD_RUNS_EDIT_H
#define BD_RUNS_EDIT_H

#include <stddef.h>

#include "err.h"

/* A run name the browser may rename to: not empty, at most 255 bytes, no
 * '/', no leading '.', no control characters. 0 when valid, else -1 and e
 * says why. */
int bd_run_name_check(const char *name, bd_err *e);
/* Rename out_dir/old to out_dir/new_name. Refused: a bad new name, a
 * directory that is not a bidora run, a live run (its lock is held), a new
 * name that exists. */
int bd_run_rename(const char *out_dir, const char *old, const char *new_name, bd_err *e);
/* Remove the run directory dir and everything in it. Refused: not a
 * directory (a symbolic link included), not a bidora run, a live run.
 * Returns 0, or -1 (e says why; on a failure midway what is left stays). */
int bd_run_delete(const char *dir, bd_err *e);

#endif
