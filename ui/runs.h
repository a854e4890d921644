/* runs.h: earlier runs found in out_dir (every DIR with a metrics.csv),
 * parsed for the runs browser and followed as they grow (a run another
 * process trains), and the CSV export of chart series (written
 * atomically: temp file + rename). No curses here. */
#ifndef BD_RUNS_H
#define BD_RUNS_H

#include "err.h"
#include "series.h"

typedef struct bd_run_info {
    char name[256], dir[4096];
    char method[16];
    long steps, total;       /* last step in metrics.csv; planned steps (max_steps, 0 unknown) */
    int has_best;
    long best_step;
    double best;
    const char *best_name;   /* eval/accuracy or eval/pearson */
    int done, has_ckpt;      /* adapter/ written; checkpoint/state.bin present */
    int has_config;          /* config.ini present (a run without a checkpoint restarts from step 0) */
    long running_pid;        /* > 0: a process holds the run's lock (trains it now); -1: held, pid unknown */
    int tagged;              /* on the overlay chart */
    char err[256];           /* metrics.csv could not be read */
    bd_run_data data;
    bd_mfollow mf;           /* metrics.csv, read up to here */
    long long cfg_mtime_ns;  /* config.ini's mtime when read (a resume rewrites it), 0: absent */
    bd_mfollow wall_mf;      /* metrics.csv again, for its wall_time column (series keep none) */
    double wall_s;           /* the last row's wall_time: training seconds (resumes continue it); NaN unknown */
    long wall_step;          /* that row's step */
} bd_run_info;

typedef struct bd_runs {
    bd_run_info *r;
    int n;
} bd_runs;

/* Scan out_dir (sorted by name: default names sort by time). */
int bd_runs_scan(bd_runs *rs, const char *out_dir, bd_err *e);
void bd_runs_free(bd_runs *rs);
/* Bring r up to date with its directory: the rows metrics.csv gained since
 * the last look (incremental; a file replaced or cut by a resume is cleared
 * and reread), the lock holder, adapter/ and the checkpoint, config.ini
 * when its mtime changed. Returns 1 when anything the browser shows changed. */
int bd_run_follow(bd_run_info *r);
/* Add the runs that appeared in out_dir since the scan (kept sorted).
 * Returns how many were added. */
int bd_runs_add_new(bd_runs *rs, const char *out_dir);

/* Does the run pass the runs browser's filter? Every word of filter
 * (blank-separated, case-insensitive) must be part of the name or begin
 * the method ("dora" finds dora runs and names with "dora", "bi" bidora
 * runs). An empty filter passes everything. */
int bd_run_matches(const bd_run_info *r, const char *filter);
/* The run at index i was renamed on disk to new_name (in the same out_dir):
 * its name, paths and followers follow it; the list is sorted again.
 * Returns the run's new index. */
int bd_runs_renamed(bd_runs *rs, int i, const char *new_name);
/* Drop the run at index i from the list (its directory is gone). */
void bd_runs_remove(bd_runs *rs, int i);

/* One series of a chart, as exported. */
typedef struct bd_export_series {
    const char *label;
    const double *x, *y;
    int n;
} bd_export_series;

/* Write series as CSV "series,x,value" to path atomically (x is the step,
 * or dD for the scatter, the row index for magnitudes). Returns the rows
 * written, or -1. */
int bd_export_csv(const char *path, const char *xname, const bd_export_series *s, int n, bd_err *e);
/* out_dir/export-WHAT-YYYYmmdd-HHMMSS.csv, WHAT made filename-safe. */
void bd_export_path(char *out, size_t n, const char *out_dir, const char *what);

#endif
