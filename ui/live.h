/* live.h: the viewer side of a running trainer. Drains the channel into
 * the run's series, keeps the recent log lines, the status snapshot and a
 * copy of the magnitude snapshot. Collecting only: drawing is elsewhere.
 * Call from the UI thread; the trainer thread only writes the channel. */
#ifndef BD_LIVE_H
#define BD_LIVE_H

#include "channel.h"
#include "series.h"

#define BD_LIVE_LOGS 512
#define BD_LIVE_BATCH 4096

typedef struct bd_live {
    bd_run_data data;
    bd_status st;
    long next_metric, next_log;
    long lost;               /* metric records overwritten before we read them (then reread from metrics.csv) */
    long reloads;
    char logs[BD_LIVE_LOGS][BD_CH_LOGLEN]; /* ring of the last lines */
    long n_logs;
    bd_mag_snapshot mag;     /* the last complete magnitude snapshot */
    int have_mag;
    /* file mode (a resumed run): metrics from RUN/metrics.csv, whole history included */
    int from_file;
    int file_open;           /* past loading: mf follows the run's metrics.csv */
    bd_mfollow mf;
    char file_err[BD_ERR_MAX]; /* the follower's last error ("" when none) */
    bd_metric batch[BD_LIVE_BATCH];
} bd_live;

void bd_live_init(bd_live *lv);
void bd_live_free(bd_live *lv);
/* Forget everything (a new run); file mode ends. */
void bd_live_reset(bd_live *lv);
/* File mode, for a resumed run (after bd_live_reset): the charts must show
 * the history before the checkpoint, which the channel never carried. Once
 * the trainer is past BD_RUN_LOADING (while loading it cuts metrics.csv back
 * to its checkpoint, or rewrites it), every poll follows RUN/metrics.csv
 * incrementally (src/io/mfollow.h; a restart clears and rereads); the
 * channel's metric records are drained and dropped. Logs, status and
 * magnitudes still come from the channel. */
void bd_live_follow_file(bd_live *lv);
/* Take what the trainer published since the last call (in file mode, the
 * rows metrics.csv gained). Returns 1 when anything changed (metrics,
 * logs, status or magnitudes). */
int bd_live_poll(bd_live *lv, bd_channel *ch);
/* Append a line of the UI's own to the log ring. */
void bd_live_add_log(bd_live *lv, const char *line);
/* The i-th newest log line (0 = newest), NULL past the oldest kept. */
const char *bd_live_log(const bd_live *lv, long i);
/* Ask the trainer for the magnitudes of (layer, module index of bd_mod_names). */
void bd_live_select_mag(bd_channel *ch, int layer, int module);

#endif
