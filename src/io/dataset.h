/* dataset.h: labelled text rows from a CSV file (read through libcsv), and
 * the seeded train / val / eval split. */
#ifndef BD_DATASET_H
#define BD_DATASET_H

#include <stdint.h>
#include <stdio.h>
#include "err.h"
#include "rng.h"

typedef enum bd_task { BD_TASK_CLASSIFICATION = 0, BD_TASK_REGRESSION = 1 } bd_task;

typedef struct bd_csv_opts {
    const char *text_column;       /* required, e.g. "text" */
    const char *text_pair_column;  /* NULL or "" when the task has one text */
    const char *label_column;      /* e.g. "label" */
    bd_task task;
} bd_csv_opts;

typedef struct bd_dataset {
    char *path;
    int n_rows;
    char **text;          /* [n_rows], UTF-8, BOM removed */
    char **text_pair;     /* [n_rows] or NULL */
    char **label_str;     /* [n_rows] label field, surrounding whitespace trimmed (both tasks) */
    int *line;            /* [n_rows] 1-based line in the file where the row starts */
    int *label;           /* [n_rows] class id after bd_dataset_map_labels, else NULL */
    float *target;        /* [n_rows] regression target, else NULL */
    bd_task task;
    char warning[BD_ERR_MAX]; /* "" or one line the caller should show (e.g. class
                                 labels that look like regression targets) */
} bd_dataset;

/* Read path: a header row, then rows. Handles a UTF-8 BOM, CRLF / LF / CR,
 * quoted fields with commas, quotes and newlines; blank lines are skipped
 * and unquoted fields lose surrounding spaces (libcsv). Errors (one line,
 * naming the file and line): missing file, no header, unknown column (lists
 * the header), ragged row, malformed quotes, a kept field that is not UTF-8
 * or holds a NUL byte, no rows, empty classification label, regression target
 * that is not a finite float. On error *ds is left empty. A classification
 * file whose labels are all numbers, some not integers (0.5, 3.7: a
 * regression target read as classes), loads with ds->warning set:
 * "FILE: label column looks numeric: use task = regression? (...)". */
int bd_dataset_load(bd_dataset *ds, const char *path, const bd_csv_opts *o, bd_err *e);
/* The same from an open stream (read to EOF, not closed); name goes into
 * messages and ds->path. */
int bd_dataset_read(bd_dataset *ds, FILE *f, const char *name, const bd_csv_opts *o, bd_err *e);
void bd_dataset_free(bd_dataset *ds);

/* A label set: names[i] is class i. */
typedef struct bd_labels {
    int n;
    char **names;
} bd_labels;

/* Build the label set from a classification dataset's rows: sorted unique
 * label strings; when every label is a decimal integer they sort by value
 * (so "2" < "10"), otherwise by strcmp. More than BD_MAX_CLASSES_FLOOR
 * distinct labels that are also more than half the rows are refused: with
 * most rows a class of their own the column is not a class label (a wrong
 * label_column, or a regression target), and the head, logits and metrics
 * would grow with rows x classes. */
#define BD_MAX_CLASSES_FLOOR 100
int bd_labels_from_dataset(bd_labels *L, const bd_dataset *ds, bd_err *e);
/* Set ds->label from L (which may come from another file); a row whose label
 * is not in L is an error naming the file, line and label. */
int bd_dataset_map_labels(bd_dataset *ds, const bd_labels *L, bd_err *e);
void bd_labels_free(bd_labels *L);

/* Seeded split of n rows into train / val / eval index lists by fractions
 * (each in [0, 1], summing to 1 within 1e-6). The indices 0..n-1 are
 * shuffled with bd_rng(seed); the first round(n * f_val) go to val, the next
 * round(n * f_eval) (clamped to what is left) to eval, the rest to train.
 * Each list is sorted ascending and allocated (may be empty). The same seed
 * always gives the same split. */
typedef struct bd_split {
    int n_train, n_val, n_eval;
    int *train, *val, *eval;
} bd_split;

int bd_split_rows(bd_split *s, int n, double f_train, double f_val, double f_eval,
                  uint64_t seed, bd_err *e);
void bd_split_free(bd_split *s);

#endif
