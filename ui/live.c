/* live.c: see live.h. */
#include "live.h"

#include <stdio.h>
#include <string.h>
#include "text.h"

void bd_live_init(bd_live *lv) {
    memset(lv, 0, sizeof *lv);
    bd_run_data_init(&lv->data);
}

void bd_live_free(bd_live *lv) { bd_run_data_free(&lv->data); }

void bd_live_reset(bd_live *lv) {
    bd_run_data_clear(&lv->data);
    memset(&lv->st, 0, sizeof lv->st);
    lv->next_metric = lv->next_log = lv->lost = lv->reloads = 0;
    lv->n_logs = 0;
    lv->have_mag = 0;
    lv->from_file = lv->file_open = 0;
    lv->file_err[0] = '\0';
}

void bd_live_follow_file(bd_live *lv) {
    lv->from_file = 1;
    lv->file_open = 0;
    lv->file_err[0] = '\0';
}

void bd_live_add_log(bd_live *lv, const char *line) {
    bd_fmt(lv->logs[lv->n_logs % BD_LIVE_LOGS], BD_CH_LOGLEN, "%s", line);
    lv->n_logs++;
}

const char *bd_live_log(const bd_live *lv, long i) {
    if (i < 0 || i >= lv->n_logs || i >= BD_LIVE_LOGS) return NULL;
    return lv->logs[(lv->n_logs - 1 - i) % BD_LIVE_LOGS];
}

void bd_live_select_mag(bd_channel *ch, int layer, int module) {
    pthread_mutex_lock(&ch->mu);
    ch->want_mag_layer = layer;
    ch->want_mag_module = module;
    pthread_mutex_unlock(&ch->mu);
}

/* Copy mag[front] when it is newer than ours. The trainer writes only the
 * back buffer and flips mag_front under ch->mu, so a copy made under the
 * lock is never torn. */
static int poll_mag(bd_live *lv, bd_channel *ch) {
    int changed = 0;
    pthread_mutex_lock(&ch->mu);
    const bd_mag_snapshot *s = &ch->mag[ch->mag_front];
    if (s->n > 0 && (!lv->have_mag || s->step != lv->mag.step || s->layer != lv->mag.layer ||
                     strcmp(s->module, lv->mag.module))) {
        lv->mag.step = s->step;
        lv->mag.n = s->n;
        lv->mag.layer = s->layer;
        memcpy(lv->mag.module, s->module, sizeof lv->mag.module);
        memcpy(lv->mag.m, s->m, sizeof(float) * (size_t)s->n);
        memcpy(lv->mag.m0, s->m0, sizeof(float) * (size_t)s->n);
        lv->have_mag = 1;
        changed = 1;
    }
    pthread_mutex_unlock(&ch->mu);
    return changed;
}

/* The channel's metric records into the series. When the ring overran us,
 * metrics.csv holds everything up to the last step: reread it. */
static int poll_channel(bd_live *lv, bd_channel *ch) {
    int changed = 0;
    for (;;) {
        long lost = 0;
        int n = bd_channel_read_metrics(ch, &lv->next_metric, lv->batch, BD_LIVE_BATCH, &lost);
        if (lost && lv->st.run_dir[0]) {
            char path[4200];
            bd_err e;
            bd_fmt(path, sizeof path, "%s/metrics.csv", lv->st.run_dir);
            bd_run_data_clear(&lv->data);
            if (!bd_run_data_load_csv(&lv->data, path, &e)) lv->reloads++;
        }
        lv->lost += lost;
        for (int i = 0; i < n; i++)
            bd_run_data_add(&lv->data, lv->batch[i].name, lv->batch[i].step, lv->batch[i].value);
        if (n) changed = 1;
        if (n < BD_LIVE_BATCH) return changed;
    }
}

/* File mode: the channel's records are drained and dropped (the file has
 * them, and the history before them); metrics.csv is followed once the
 * trainer is past loading, which cuts it to the checkpoint (any later
 * state: a short resume may be done before our first look). */
static int poll_file(bd_live *lv, bd_channel *ch) {
    long lost;
    while (bd_channel_read_metrics(ch, &lv->next_metric, lv->batch, BD_LIVE_BATCH, &lost) == BD_LIVE_BATCH) {}
    if (!lv->file_open) {
        if (lv->st.state <= BD_RUN_LOADING || !lv->st.run_dir[0]) return 0;
        char path[4200];
        bd_err e = {{0}};
        bd_fmt(path, sizeof path, "%s/metrics.csv", lv->st.run_dir);
        if (bd_mfollow_init(&lv->mf, path, &e)) { bd_fmt(lv->file_err, sizeof lv->file_err, "%s", e.msg); return 0; }
        bd_run_data_clear(&lv->data);
        lv->file_open = 1;
    }
    bd_err e = {{0}};
    int restarted, n = bd_run_data_follow(&lv->data, &lv->mf, &restarted, &e);
    const char *err = n < 0 ? e.msg : "";
    if (strcmp(err, lv->file_err)) { /* the charts stop growing: the log says why, once */
        bd_fmt(lv->file_err, sizeof lv->file_err, "%s", err);
        if (err[0]) bd_live_add_log(lv, err);
    }
    if (restarted) lv->reloads++;
    return n > 0 || restarted;
}

int bd_live_poll(bd_live *lv, bd_channel *ch) {
    int changed = 0;
    bd_status st;
    bd_channel_get_status(ch, &st);
    if (memcmp(&st, &lv->st, sizeof st)) { lv->st = st; changed = 1; }
    changed |= lv->from_file ? poll_file(lv, ch) : poll_channel(lv, ch);
    char lines[64][BD_CH_LOGLEN];
    for (;;) {
        int n = bd_channel_read_logs(ch, &lv->next_log, lines, 64);
        for (int i = 0; i < n; i++) bd_live_add_log(lv, lines[i]);
        if (n) changed = 1;
        if (n < 64) break;
    }
    changed |= poll_mag(lv, ch);
    return changed;
}
