/* runlock.h: one writer per run directory. The writer holds an exclusive
 * lock on RUN/lock for the whole run: an open-file-description lock
 * (F_OFD_SETLK; flock() where the kernel lacks those), so the kernel drops
 * it when the process dies, however it dies, and a second open of the file
 * in the same process conflicts too. The file records who holds it:
 * "pid PID\nhost HOST\nstarted EPOCH\n". Content left by a dead holder is
 * a stale lock: the next writer takes it over and says so. */
#ifndef BD_RUNLOCK_H
#define BD_RUNLOCK_H

#include "err.h"

typedef struct bd_runlock {
    int fd;                 /* -1 when not held */
    char path[4200];
    long stale_pid;         /* > 0: took over the lock of this dead process */
    char stale_host[256];
} bd_runlock;

/* Take RUN/lock. On a live holder: -1 with "RUN: being trained by pid N on
 * HOST since TIME (lock file RUN/lock)". */
int bd_runlock_take(bd_runlock *l, const char *run_dir, bd_err *e);
/* Release (clears the file's content first, so the next taker sees no stale lock). */
void bd_runlock_release(bd_runlock *l);

/* Without taking it: the pid holding RUN's lock, 0 when none (never blocks,
 * never disturbs a holder or a taker). */
long bd_runlock_holder(const char *run_dir);

/* Remove NAME.tmp.PID files (bd_write_file_atomic's, left by a kill) in RUN
 * and its checkpoint/, adapter/ and best/ folders; returns how many. Only
 * for the lock holder. */
int bd_run_remove_temps(const char *run_dir);

/* A line "[TAG] LINE" appended to RUN/log.txt in one write (for those
 * who are not the trainer: the workbench, the control socket). */
void bd_run_log_line(const char *run_dir, const char *tag, const char *line);

/* Detaching from the terminal: stdin from /dev/null, stdout and stderr
 * appended to RUN/detached.log (what is printed after, how the run ended, a
 * sanitizer's report, stays in the run directory), then out of the
 * terminal's session (setsid, when this process may). */
void bd_run_detach_output(const char *run_dir);

#endif
