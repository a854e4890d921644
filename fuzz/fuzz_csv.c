/* fuzz_csv.c: libFuzzer harness for the CSV loader. Byte 0 picks the task
 * (bit 0: classification / regression) and whether a "pair" column is asked
 * for (bit 1); the rest is the file. Beyond "no crash, no leak", it checks the
 * loader's promises: one-line errors naming the file, an empty dataset on
 * failure, increasing line numbers, trimmed non-empty labels, finite targets,
 * and that labels and splits built from the rows are consistent. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"

#define NAME "fuzz.csv"

static void check(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "fuzz_csv: invariant broken: %s\n", what);
        abort();
    }
}

static int blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

/* Lines in the input: CRLF, lone CR and lone LF each end one. */
static long count_lines(const uint8_t *d, size_t n) {
    long lines = 1;
    for (size_t i = 0; i < n; i++)
        if (d[i] == '\n' || (d[i] == '\r' && (i + 1 == n || d[i + 1] != '\n'))) lines++;
    return lines;
}

static void check_dataset(const bd_dataset *ds, const bd_csv_opts *o, long max_line) {
    check(ds->n_rows > 0, "loaded with no rows");
    check(strcmp(ds->path, NAME) == 0, "path");
    check((ds->text_pair != NULL) == (o->text_pair_column && o->text_pair_column[0]), "pair presence");
    check((ds->target != NULL) == (o->task == BD_TASK_REGRESSION), "target presence");
    for (int i = 0; i < ds->n_rows; i++) {
        check(ds->text[i] && ds->label_str[i], "null field");
        check(ds->line[i] >= 2 && (i == 0 || ds->line[i] > ds->line[i - 1]), "line order");
        check(ds->line[i] <= max_line, "line past the end of the input");
        const char *l = ds->label_str[i];
        size_t n = strlen(l);
        check(n == 0 || (!blank(l[0]) && !blank(l[n - 1])), "label not trimmed");
        if (o->task == BD_TASK_CLASSIFICATION) check(n > 0, "empty label");
        else check(isfinite(ds->target[i]), "non-finite target");
        if (ds->text_pair) check(ds->text_pair[i] != NULL, "null pair");
    }
}

static void check_labels(bd_dataset *ds) {
    bd_labels L;
    bd_err e = {{0}};
    if (bd_labels_from_dataset(&L, ds, &e) != 0) {
        /* refused only for too many classes (most rows a class of their own) */
        check(strstr(e.msg, "distinct labels") != NULL, "labels_from_dataset failed");
        check(strchr(e.msg, '\n') == NULL, "label error spans lines");
        return;
    }
    check(L.n >= 1 && L.n <= ds->n_rows, "label count");
    for (int i = 0; i < L.n; i++)
        if (i > 0) check(strcmp(L.names[i - 1], L.names[i]) != 0, "duplicate label");  /* equal ones sort adjacent */
    check(bd_dataset_map_labels(ds, &L, &e) == 0, "map_labels failed on its own labels");
    for (int i = 0; i < ds->n_rows; i++) {
        check(ds->label[i] >= 0 && ds->label[i] < L.n, "label id range");
        check(strcmp(L.names[ds->label[i]], ds->label_str[i]) == 0, "label id maps back");
    }
    bd_labels_free(&L);
}

static void check_split(int n, uint8_t b) {
    double fv = (b & 15) / 30.0, fe = (b >> 4) / 30.0;  /* each <= 0.5 */
    bd_split s;
    bd_err e = {{0}};
    check(bd_split_rows(&s, n, 1.0 - fv - fe, fv, fe, b, &e) == 0, "split failed");
    check(s.n_train + s.n_val + s.n_eval == n && s.n_train >= 0 && s.n_val >= 0 && s.n_eval >= 0, "split counts");
    char *seen = calloc((size_t)n, 1);
    check(seen != NULL, "calloc");
    const int *lists[3] = {s.train, s.val, s.eval};
    const int counts[3] = {s.n_train, s.n_val, s.n_eval};
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < counts[l]; i++) {
            int v = lists[l][i];
            check(v >= 0 && v < n && !seen[v], "split not disjoint");
            check(i == 0 || lists[l][i - 1] < v, "split list not sorted");
            seen[v] = 1;
        }
    free(seen);
    bd_split_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    bd_csv_opts o = {"text", (data[0] & 2) ? "pair" : NULL, "label",
                     (data[0] & 1) ? BD_TASK_REGRESSION : BD_TASK_CLASSIFICATION};
    /* fmemopen refuses a zero-sized buffer; a one-byte blank is just as empty */
    static const char nl[] = "\n";
    const void *buf = size > 1 ? (const void *)(data + 1) : (const void *)nl;
    FILE *f = fmemopen((void *)buf, size > 1 ? size - 1 : 1, "rb");
    if (!f) return 0;
    bd_dataset ds;
    bd_err e = {{0}};
    int rc = bd_dataset_read(&ds, f, NAME, &o, &e);
    fclose(f);
    if (rc != 0) {
        check(rc == -1, "return code");
        check(strncmp(e.msg, NAME ":", strlen(NAME) + 1) == 0, "error does not start with the file name");
        check(strchr(e.msg, '\n') == NULL, "error spans lines");
        check(ds.n_rows == 0 && !ds.text && !ds.path, "dataset not empty after error");
        return 0;
    }
    check_dataset(&ds, &o, count_lines(data + 1, size - 1));
    check(strchr(ds.warning, '\n') == NULL, "warning spans lines");
    check(!ds.warning[0] || strncmp(ds.warning, NAME ":", strlen(NAME) + 1) == 0, "warning does not start with the file name");
    if (o.task == BD_TASK_CLASSIFICATION) check_labels(&ds);
    check_split(ds.n_rows, data[0]);
    bd_dataset_free(&ds);
    return 0;
}
