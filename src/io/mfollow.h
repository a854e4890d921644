/* mfollow.h: an incremental reader of a run's metrics.csv as it grows.
 * The trainer commits each step's rows with one write(2) (O_APPEND), so
 * the file is whole lines except perhaps at its end. The follower keeps
 * the byte offset just after the last whole line it consumed and that
 * line's number; each poll reads only what was appended since (pread from
 * the offset), hands every complete row to a callback, and leaves a
 * trailing partial line for the next poll.
 *
 * Restarts: the trainer replaces the file by rename (a fresh start, a
 * resume without a checkpoint) or cuts it back to its checkpoint's length
 * (a resume), then appends. A poll that finds another file (device or
 * inode changed), a file shorter than the offset, or bytes before the
 * offset that differ from those consumed (the last up to BD_MF_TAIL of
 * them, compared exactly; a cut and regrown file has other wall times)
 * rewinds to byte 0, sets *restarted and returns 0 without reading: the
 * caller forgets what it took and polls again.
 *
 * Rows: "wall_time,step,phase,name,value" (the header, checked on line 1;
 * names hold no commas); blank lines and a CR before the LF are skipped.
 * A malformed row is -1 with "PATH:LINE: what is wrong"; the rows before
 * it were delivered and the offset stays on it, so the next poll reports
 * it again unless the file was replaced or cut. A missing file is
 * BD_MF_MISSING ("PATH: cannot open: ..."): for a live run "not there
 * yet, poll again later"; the follower keeps its state, and a file that
 * reappears is a new inode, so reading restarts from byte 0. */
#ifndef BD_MFOLLOW_H
#define BD_MFOLLOW_H

#include <sys/types.h>

#include "err.h"

#define BD_MF_TAIL 64        /* bytes before the offset compared on each poll */
#define BD_MF_LINE_MAX 510   /* longest line, in bytes before its LF (as the old fgets reader) */
#define BD_MF_MISSING (-2)   /* bd_mfollow_poll: the file is not there */

/* Poll flags. FINAL: the file is complete (a one-shot read), so a last
 * line without LF counts as whole, and a file without any line is an
 * error ("PATH: empty file"). Without it both mean "more is coming". */
enum { BD_MF_FINAL = 1 };

/* One row. Returns 0, or -1 after filling e (the poll stops there and
 * returns -1; the row stays unconsumed, so the next poll offers it again). phase: 1 for "train", 2 for
 * "retrain", or the column's number. wall: NaN when not a number. */
typedef int (*bd_mf_row_fn)(void *ctx, double wall, long step, int phase, const char *name, double value, bd_err *e);

typedef struct bd_mfollow {
    char path[4200];
    int seen;                /* a file was opened: dev and ino are its */
    dev_t dev;
    ino_t ino;
    long long off;           /* bytes consumed: whole lines, delivered */
    long line;               /* lines consumed (a message names line + 1) */
    unsigned char tail[BD_MF_TAIL]; /* the last ntail bytes before off */
    int ntail;
    long long restarts;      /* how many times the file was found replaced or cut */
} bd_mfollow;

/* Follow path from byte 0 (holds no resources: nothing to free). */
int bd_mfollow_init(bd_mfollow *f, const char *path, bd_err *e);
/* Forget what was consumed: the next poll reads from byte 0. */
void bd_mfollow_rewind(bd_mfollow *f);
/* Read what was appended since the last poll. Returns the rows delivered
 * (>= 0), 0 with *restarted = 1 after a rewind (see above; *restarted is
 * 0 otherwise), BD_MF_MISSING, or -1; e says why for the last two. */
int bd_mfollow_poll(bd_mfollow *f, int flags, bd_mf_row_fn fn, void *ctx, int *restarted, bd_err *e);

#endif
