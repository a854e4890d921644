/* control.h: the control endpoint of a live run, and its client.
 *
 * The process that holds a run's lock (runlock.h) serves RUN/control.sock,
 * a Unix domain stream socket (mode 0600), from a thread of its own; the
 * server only reads and writes the run's channel, exactly as a local viewer
 * does, so a workbench run and a headless one are served alike. Each
 * connection's peer uid (SO_PEERCRED) must be the server's own uid; any other
 * is refused with one error line and logged in RUN/log.txt.
 *
 * The protocol (docs/DESIGN.md, "Control socket"): the client writes one
 * command a line; the server answers every command with one JSON object a
 * line, its "type" first:
 *   status            {"type":"status","state":"running","step":..,...}
 *   pause | resume    {"type":"ok","cmd":"pause"}
 *   stop              {"type":"ok","cmd":"stop"} (the trainer checkpoints, then stops)
 *   checkpoint        {"type":"ok","cmd":"checkpoint"} (written before the next step)
 *   mag LAYER MODULE  {"type":"ok","cmd":"mag"}: which magnitudes the trainer snapshots
 *   subscribe         {"type":"ok","cmd":"subscribe"}, then, unasked: recent and new
 *                     {"type":"log","line":..}, {"type":"status",..} when it changes,
 *                     {"type":"mag","step":..,"layer":..,"module":..,"m":[..],"m0":[..]},
 *                     and {"type":"end",<status>} when the run ends (then EOF)
 *   help              {"type":"ok","cmd":"help","commands":[..]}
 * A bad command gets {"type":"error","message":".."}. Metrics are not on the
 * socket: clients follow RUN/metrics.csv. */
#ifndef BD_CONTROL_H
#define BD_CONTROL_H

#include <jansson.h>
#include <stddef.h>

#include "channel.h"
#include "err.h"

#define BD_CONTROL_SOCK "control.sock"

typedef struct bd_control bd_control;

/* Serve run_dir/control.sock for ch (call holding run_dir's lock; a socket
 * file already there is a stale one of a killed process: removed, and said in
 * *note when note is not NULL). */
int bd_control_open(bd_control **out, const char *run_dir, bd_channel *ch, char *note, size_t note_n, bd_err *e);
/* Tell subscribers how the run ended ("end"), close every connection,
 * remove the socket file, join the thread. NULL is a no-op. */
void bd_control_close(bd_control *c);

/* ---- the client ---- */

typedef struct bd_ctl_conn {
    int fd;
    char *buf;
    size_t len, cap;
} bd_ctl_conn;

/* Connect to run_dir's socket. Errors: "RUN: not live (no process serves
 * RUN/control.sock)"; a socket file with no process behind it is removed
 * (taking the run's lock for that instant, so a starting run is never hit). */
int bd_ctl_connect(bd_ctl_conn *c, const char *run_dir, bd_err *e);
void bd_ctl_close(bd_ctl_conn *c);
/* Send one command line (without the newline). */
int bd_ctl_send(bd_ctl_conn *c, const char *cmd, bd_err *e);
/* The next line from the server, parsed. timeout_ms < 0 waits for ever.
 * Returns 0 (*out set; json_decref it), 1 on timeout, -1 on EOF or an error
 * (e says which: "the run ended" for EOF). */
int bd_ctl_next(bd_ctl_conn *c, int timeout_ms, json_t **out, bd_err *e);
/* Send cmd and wait (timeout_ms) for its answer, skipping subscription
 * events. An "error" answer is returned as -1 with its message in e. */
int bd_ctl_call(bd_ctl_conn *c, const char *cmd, int timeout_ms, json_t **reply, bd_err *e);

/* A "status" or "end" object into a bd_status (fields it lacks stay 0). */
void bd_ctl_status_from_json(const json_t *j, bd_status *st);

const char *bd_run_state_name(bd_run_state s);

#endif
