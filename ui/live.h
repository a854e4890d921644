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
    bd_metric batch[BD_LIVE_BATCH];
} bd_live;

void bd_live_init(bd_live *lv);
void bd_live_free(bd_live *lv);
/* Forget everything (a new run). */
void bd_live_reset(bd_live *lv);
/* Take what the trainer published since the last call. Returns 1 when
 * anything changed (metrics, logs, status or magnitudes). */
int bd_live_poll(bd_live *lv, bd_channel *ch);
/* Append a line of the UI's own to the log ring. */
void bd_live_add_log(bd_live *lv, const char *line);
/* The i-th newest log line (0 = newest), NULL past the oldest kept. */
const char *bd_live_log(const bd_live *lv, long i);
/* Ask the trainer for the magnitudes of (layer, module index of bd_mod_names). */
void bd_live_select_mag(bd_channel *ch, int layer, int module);

#endif
