/* channel.h: the only link between the training thread and its viewer (the
 * TUI or the headless progress printer). The trainer publishes a status
 * snapshot, metric records and log lines; the viewer posts commands. Rings
 * are bounded: a viewer that falls behind loses the oldest records (it can
 * reread metrics.csv), and the trainer never waits on a viewer. */
#ifndef BD_CHANNEL_H
#define BD_CHANNEL_H

#include <pthread.h>
#include <stddef.h>

#define BD_CH_METRICS 8192
#define BD_CH_LOGS 256
#define BD_CH_LOGLEN 240
#define BD_CH_MAG 4096

typedef enum bd_run_state {
    BD_RUN_IDLE = 0, BD_RUN_LOADING, BD_RUN_RUNNING, BD_RUN_PAUSED, BD_RUN_DONE, BD_RUN_STOPPED, BD_RUN_FAILED
} bd_run_state;

typedef struct bd_status {
    bd_run_state state;
    long step, total;        /* steps done, steps planned (both phases) */
    int phase;               /* 1, or 2 for BiDoRA's retraining */
    double loss;             /* last train loss */
    double steps_per_s, eta_s, elapsed_s;
    size_t mem_bytes;        /* model + activations + optimizer state */
    char device[160];        /* what trains ("CPU (2 threads, OpenBLAS)", "NVIDIA H200 ...") */
    char method[16];         /* bidora, dora, lora, full */
    char backend[16];        /* cpu or cuda ("" while loading) */
    long pid;                /* the process that trains */
    long long started;       /* when this process opened the run (Unix time) */
    char run_dir[4096];
    char message[BD_CH_LOGLEN]; /* why it stopped or failed */
} bd_status;

typedef struct bd_metric {
    double wall;             /* seconds since the run started */
    long step;
    int phase;
    char name[64];           /* train/loss, eval/accuracy, wd/layer.0.query/dM, ... */
    double value;
} bd_metric;

/* A snapshot of one adapted matrix's magnitude vector (double-buffered). */
typedef struct bd_mag_snapshot {
    long step;
    int n, layer;
    char module[48];
    float m[BD_CH_MAG];      /* magnitudes (or row norms for LoRA/full) */
    float m0[BD_CH_MAG];     /* row norms of W0 */
} bd_mag_snapshot;

typedef struct bd_channel {
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* signalled on commands (pause/resume wake the trainer) */
    bd_status st;
    bd_metric metrics[BD_CH_METRICS];
    long n_metrics;          /* total pushed; slot = index % capacity */
    char logs[BD_CH_LOGS][BD_CH_LOGLEN];
    long n_logs;
    bd_mag_snapshot mag[2];
    int mag_front;           /* which of mag[] is complete */
    int want_mag_layer, want_mag_module; /* viewer's selection */
    /* commands */
    int cmd_pause, cmd_stop, cmd_save;
    int cmd_detach;          /* the viewer leaves (an attached viewer's proxy disconnects) */
} bd_channel;

int bd_channel_init(bd_channel *ch);
void bd_channel_destroy(bd_channel *ch);

/* trainer side */
void bd_channel_status(bd_channel *ch, const bd_status *st);
void bd_channel_metric(bd_channel *ch, const bd_metric *m);
void bd_channel_log(bd_channel *ch, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Blocks while paused (until resume, stop or a save request); returns 1 if a stop was asked. */
int bd_channel_wait_if_paused(bd_channel *ch);
/* Take (and clear) a save request. */
int bd_channel_take_save(bd_channel *ch);
int bd_channel_stop_requested(bd_channel *ch);
int bd_channel_pause_requested(bd_channel *ch);

/* viewer side */
void bd_channel_get_status(bd_channel *ch, bd_status *st);
/* Copy metrics with index >= *next into out (at most cap); advances *next.
 * Returns how many; *lost gets how many were overwritten before reading. */
int bd_channel_read_metrics(bd_channel *ch, long *next, bd_metric *out, int cap, long *lost);
int bd_channel_read_logs(bd_channel *ch, long *next, char (*out)[BD_CH_LOGLEN], int cap);
void bd_channel_pause(bd_channel *ch, int paused);
void bd_channel_stop(bd_channel *ch);
void bd_channel_save(bd_channel *ch);
/* The viewer leaves (an attached viewer's proxy disconnects; a trainer ignores it). */
void bd_channel_detach(bd_channel *ch);

#endif
