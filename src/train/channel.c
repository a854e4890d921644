#include "channel.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int bd_channel_init(bd_channel *ch) {
    memset(ch, 0, sizeof *ch);
    if (pthread_mutex_init(&ch->mu, NULL)) return -1;
    if (pthread_cond_init(&ch->cv, NULL)) { pthread_mutex_destroy(&ch->mu); return -1; }
    return 0;
}

void bd_channel_destroy(bd_channel *ch) {
    pthread_cond_destroy(&ch->cv);
    pthread_mutex_destroy(&ch->mu);
}

void bd_channel_status(bd_channel *ch, const bd_status *st) {
    pthread_mutex_lock(&ch->mu);
    ch->st = *st;
    pthread_mutex_unlock(&ch->mu);
}

void bd_channel_metric(bd_channel *ch, const bd_metric *m) {
    pthread_mutex_lock(&ch->mu);
    ch->metrics[ch->n_metrics % BD_CH_METRICS] = *m;
    ch->n_metrics++;
    pthread_mutex_unlock(&ch->mu);
}

void bd_channel_log(bd_channel *ch, const char *fmt, ...) {
    char line[BD_CH_LOGLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&ch->mu);
    memcpy(ch->logs[ch->n_logs % BD_CH_LOGS], line, sizeof line);
    ch->n_logs++;
    pthread_mutex_unlock(&ch->mu);
}

int bd_channel_wait_if_paused(bd_channel *ch) {
    pthread_mutex_lock(&ch->mu);
    while (ch->cmd_pause && !ch->cmd_stop && !ch->cmd_save) pthread_cond_wait(&ch->cv, &ch->mu);
    int stop = ch->cmd_stop;
    pthread_mutex_unlock(&ch->mu);
    return stop;
}

int bd_channel_take_save(bd_channel *ch) {
    pthread_mutex_lock(&ch->mu);
    int s = ch->cmd_save;
    ch->cmd_save = 0;
    pthread_mutex_unlock(&ch->mu);
    return s;
}

int bd_channel_stop_requested(bd_channel *ch) {
    pthread_mutex_lock(&ch->mu);
    int s = ch->cmd_stop;
    pthread_mutex_unlock(&ch->mu);
    return s;
}

int bd_channel_pause_requested(bd_channel *ch) {
    pthread_mutex_lock(&ch->mu);
    int p = ch->cmd_pause;
    pthread_mutex_unlock(&ch->mu);
    return p;
}

void bd_channel_get_status(bd_channel *ch, bd_status *st) {
    pthread_mutex_lock(&ch->mu);
    *st = ch->st;
    pthread_mutex_unlock(&ch->mu);
}

int bd_channel_read_metrics(bd_channel *ch, long *next, bd_metric *out, int cap, long *lost) {
    pthread_mutex_lock(&ch->mu);
    long oldest = ch->n_metrics > BD_CH_METRICS ? ch->n_metrics - BD_CH_METRICS : 0;
    if (lost) *lost = *next < oldest ? oldest - *next : 0;
    if (*next < oldest) *next = oldest;
    int n = 0;
    while (*next < ch->n_metrics && n < cap) out[n++] = ch->metrics[(*next)++ % BD_CH_METRICS];
    pthread_mutex_unlock(&ch->mu);
    return n;
}

int bd_channel_read_logs(bd_channel *ch, long *next, char (*out)[BD_CH_LOGLEN], int cap) {
    pthread_mutex_lock(&ch->mu);
    long oldest = ch->n_logs > BD_CH_LOGS ? ch->n_logs - BD_CH_LOGS : 0;
    if (*next < oldest) *next = oldest;
    int n = 0;
    while (*next < ch->n_logs && n < cap) memcpy(out[n++], ch->logs[(*next)++ % BD_CH_LOGS], BD_CH_LOGLEN);
    pthread_mutex_unlock(&ch->mu);
    return n;
}

void bd_channel_pause(bd_channel *ch, int paused) {
    pthread_mutex_lock(&ch->mu);
    ch->cmd_pause = paused;
    pthread_cond_broadcast(&ch->cv);
    pthread_mutex_unlock(&ch->mu);
}

void bd_channel_stop(bd_channel *ch) {
    pthread_mutex_lock(&ch->mu);
    ch->cmd_stop = 1;
    pthread_cond_broadcast(&ch->cv);
    pthread_mutex_unlock(&ch->mu);
}

void bd_channel_save(bd_channel *ch) {
    pthread_mutex_lock(&ch->mu);
    ch->cmd_save = 1;
    pthread_cond_broadcast(&ch->cv); /* a paused trainer writes it at once */
    pthread_mutex_unlock(&ch->mu);
}

void bd_channel_detach(bd_channel *ch) {
    pthread_mutex_lock(&ch->mu);
    ch->cmd_detach = 1;
    pthread_cond_broadcast(&ch->cv);
    pthread_mutex_unlock(&ch->mu);
}
