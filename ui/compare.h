/* compare.h: the comparison table of the runs you tag (TensorBoard's
 * HParams view): one row a run, the config keys whose values differ among
 * them (each run's config.ini, read with bd_config_load), then the best
 * eval metric and its step, the final one, the eval-minus-train gap, steps/s
 * and wall time; sortable by any column. No curses here. */
#ifndef BD_COMPARE_H
#define BD_COMPARE_H

#include <stddef.h>

#include "series.h"

typedef enum bd_cmp_kind {
    BD_CMP_NAME, BD_CMP_KEY, BD_CMP_BEST, BD_CMP_FINAL, BD_CMP_GAP, BD_CMP_SPS, BD_CMP_WALL
} bd_cmp_kind;

#define BD_CMP_MAX_COLS 96

typedef struct bd_cmp_col {
    bd_cmp_kind kind;
    int key;                 /* BD_CMP_KEY: index into the config key table */
    char title[64];
} bd_cmp_col;

typedef struct bd_cmp_row {
    char name[256], method[16];
    char **vals;             /* one text per config key; NULL when config.ini is unreadable */
    char err[512];           /* what is wrong with the run (config.ini, metrics.csv), "" when nothing */
    const char *metric;      /* eval/accuracy or eval/pearson, NULL without evals */
    int has_best, has_final;
    long best_step, final_step;
    double best, final;
    double gap;              /* final eval loss - train loss over the last eval window; NaN unknown */
    double sps, wall;        /* steps per second of training time; training seconds; NaN unknown */
} bd_cmp_row;

typedef struct bd_cmp_table {
    bd_cmp_row *rows;
    int n;
    bd_cmp_col cols[BD_CMP_MAX_COLS];
    int ncols;
    int sort_col, sort_desc; /* sort_col indexes cols */
} bd_cmp_table;

/* Train loss over the last evaluation window, (previous eval step, last eval
 * step] of eval/loss: its mean; then eval/loss's last value minus it. NaN
 * without eval/loss or train/loss rows in that window. */
double bd_cmp_gap(const bd_run_data *d);
/* The metric columns of row from d (the run's metrics.csv) and its training
 * time wall_s (the last wall_time; NaN unknown) at step last_step. */
void bd_cmp_row_metrics(bd_cmp_row *row, const bd_run_data *d, double wall_s, long last_step);
/* Read DIR/config.ini (defaults fill what is absent) into row->vals; on
 * error vals stays NULL and row->err says why. Returns 0 or -1. */
int bd_cmp_row_config(bd_cmp_row *row, const char *dir);
/* Config keys whose values differ among the rows that have one (at least
 * two of them), in key-table order; run_name (the row's name already) is
 * left out. Fills at most cap indices; returns how many. */
int bd_cmp_differing(const bd_cmp_row *rows, int n, int *keys, int cap);
/* Columns: name, the differing keys, best, final, gap, steps/s, wall. */
void bd_cmp_build_cols(bd_cmp_table *t);
/* Sort rows by cols[sort_col] (descending when sort_desc): numbers as
 * numbers, other text as text, an unknown value last either way, ties by name. */
void bd_cmp_sort(bd_cmp_table *t);
/* The text of a cell ("?" for a key of a run without a readable config.ini,
 * "-" for an unknown metric). */
void bd_cmp_cell(const bd_cmp_table *t, int row, int col, char *buf, size_t n);
/* Seconds as "42.0s", "3m07s", "2h05m". */
void bd_cmp_fmt_wall(char *buf, size_t n, double s);
void bd_cmp_row_free(bd_cmp_row *row);
void bd_cmp_free(bd_cmp_table *t);

#endif
