/* series.h: the metrics of one run as named time series (x = step),
 * filled from the channel while a run is live or from a run directory's
 * metrics.csv; plus the derived data the charts need (best eval point,
 * the weight-decomposition points and their slope). No curses here. */
#ifndef BD_SERIES_H
#define BD_SERIES_H

#include "err.h"
#include "mfollow.h"

typedef struct bd_series {
    char name[64];           /* train/loss, eval/accuracy, wd/layer.0.query/dM, ... */
    int n, cap;
    double *x, *y;           /* step, value */
} bd_series;

typedef struct bd_run_data {
    bd_series *s;
    int n, cap;
    int last;                /* index of the last series found (a lookup cache) */
    long max_step;
} bd_run_data;

void bd_run_data_init(bd_run_data *d);
void bd_run_data_free(bd_run_data *d);
void bd_run_data_clear(bd_run_data *d);
/* Append (step, value) to series name. A step not after the series' last
 * is dropped (so a reread of metrics.csv and the channel never double). */
int bd_run_data_add(bd_run_data *d, const char *name, long step, double value);
/* NULL when the run has no such series. */
const bd_series *bd_run_data_find(const bd_run_data *d, const char *name);
/* Read a metrics.csv path into d (appended), whole: one poll of a fresh
 * follower (src/io/mfollow.h) with BD_MF_FINAL. Header
 * "wall_time,step,phase,name,value"; a malformed line is an error naming
 * the file and line. A missing or empty file is an error. */
int bd_run_data_load_csv(bd_run_data *d, const char *path, bd_err *e);
/* Add to d the rows f's file appended since the last call. When the file
 * was replaced or cut, d is cleared and the file reread from byte 0
 * (*restarted = 1). Returns the rows read, BD_MF_MISSING or -1 (e says why;
 * d keeps the rows before a malformed one). */
int bd_run_data_follow(bd_run_data *d, bd_mfollow *f, int *restarted, bd_err *e);

/* The best evaluation: the first maximum of eval/accuracy (classification)
 * or eval/pearson (regression), as the trainer picks best/. Returns 0 and
 * the step and value, -1 when there is no eval yet. */
int bd_best_eval(const bd_run_data *d, long *step, double *value, const char **name);
/* The value of series name at step (NaN if absent). */
double bd_series_at(const bd_series *s, long step);

/* The loss chart's overfitting readout, from the evaluations at or before
 * at_step (LONG_MAX: all). gap: the last eval loss minus the train loss
 * averaged over the same window (the train steps after the evaluation before
 * it, up to and including its step); trend: the least-squares change of the gap
 * per evaluation over the last (up to) 3; min_step, min_value: where eval loss
 * last reached its minimum; rising: evaluations after that one. Returns -1
 * when there is no evaluation with train steps in its window. */
typedef struct bd_overfit {
    int n_evals;
    long last_step, min_step;
    double gap, trend, min_value;
    int rising;
} bd_overfit;
int bd_overfit_readout(const bd_run_data *d, long at_step, bd_overfit *o);

/* The adapted (layer, module) pairs seen in wd/layer.N.MODULE/dM names. */
#define BD_WD_MAX 256
typedef struct bd_wd_key { int layer; char module[48]; } bd_wd_key;
int bd_wd_keys(const bd_run_data *d, bd_wd_key *out, int cap);
/* The distinct modules among keys (query before value as they appear). */
int bd_wd_modules(const bd_wd_key *k, int n, char (*out)[48], int cap);

/* dD (x) and dM (y) of one module: one point per layer per checkpoint, as
 * ALGORITHM.md plots them. Fills at most cap points; returns how many. */
int bd_wd_points(const bd_run_data *d, const char *module, double *dd, double *dm, int cap);

#endif
