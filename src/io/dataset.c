/* dataset.c: CSV rows (parsed by libcsv) into a bd_dataset, label sets, and
 * the seeded train / val / eval split. */
#include "dataset.h"

#include <csv.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK 65536
#define EXCERPT_MAX 64

/* A short, single-line, printable copy of s for error messages. */
static void excerpt(char *out, const char *s) {
    size_t j = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        /* stop at a character boundary so the "..." never splits UTF-8 */
        if (j >= 48 && (*p & 0xC0) != 0x80) { memcpy(out + j, "...", 3); j += 3; break; }
        if (j >= EXCERPT_MAX - 5) break;
        out[j++] = (*p < 0x20 || *p == 0x7F) ? '?' : (char)*p;
    }
    out[j] = '\0';
}

/* "a, b, c" from names (each excerpted), cut with ", ..." when out is full. */
static void join_names(char *out, size_t cap, char *const *names, int n) {
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        char ex[EXCERPT_MAX];
        excerpt(ex, names[i]);
        int w = snprintf(out + used, cap - used, "%s%s", i ? ", " : "", ex);
        if (w < 0 || (size_t)w >= cap - used) {
            snprintf(out + (cap - 8), 8, ", ...");
            return;
        }
        used += (size_t)w;
    }
}

/* Byte offset of the first invalid UTF-8 sequence in s[0..n), or -1. */
static long utf8_invalid_at(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t k;
        unsigned cp, min;
        if (c >= 0xC2 && c <= 0xDF) { k = 1; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { k = 2; cp = c & 0x0F; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { k = 3; cp = c & 0x07; min = 0x10000; }
        else return (long)i;
        if (n - i <= k) return (long)i;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return (long)i;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return (long)i;
        i += k + 1;
    }
    return -1;
}

static int is_blank(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* ---- loading ---------------------------------------------------------- */

typedef struct loader {
    const char *name;
    const bd_csv_opts *o;
    bd_dataset *ds;
    bd_err *e;
    int failed;             /* e holds the first error; ignore further callbacks */
    locale_t c_numeric;     /* strtod must not follow the UI's LC_NUMERIC */

    int have_header;
    char **cols;
    int n_cols, cap_cols;
    int i_text, i_pair, i_label;

    int ended;              /* on_record ran since the last csv_parse call */
    int n_fields;           /* fields seen so far in the current record */
    long rec_line;          /* line where the current record starts */
    char *f_text, *f_pair, *f_label;
    int cap_rows;
} loader;

/* what: what the allocation was for, e.g. "a field of 12 bytes". */
static void fail_oom(loader *L, const char *what) {
    if (!L->failed) bd_errf(L->e, "%s:%ld: out of memory reading the CSV (%s)", L->name, L->rec_line, what);
    L->failed = 1;
}

static int append_col(loader *L, const char *s, size_t len) {
    if (L->n_cols == L->cap_cols) {
        int ncap = L->cap_cols ? L->cap_cols * 2 : 16;
        char **nc = realloc(L->cols, (size_t)ncap * sizeof *nc);
        if (!nc) return -1;
        L->cols = nc;
        L->cap_cols = ncap;
    }
    char *c = malloc(len + 1);
    if (!c) return -1;
    memcpy(c, s, len);
    c[len] = '\0';
    L->cols[L->n_cols++] = c;
    return 0;
}

/* Copy a kept field; it must be NUL-free UTF-8 since it feeds the tokenizer. */
static char *keep_field(loader *L, const char *s, size_t len, int col) {
    if (memchr(s, '\0', len)) {
        bd_errf(L->e, "%s:%ld: column '%s' holds a NUL byte", L->name, L->rec_line, L->cols[col]);
        L->failed = 1;
        return NULL;
    }
    long bad = utf8_invalid_at((const unsigned char *)s, len);
    if (bad >= 0) {
        bd_errf(L->e, "%s:%ld: column '%s' is not valid UTF-8 (byte %ld of the field)",
                L->name, L->rec_line, L->cols[col], bad + 1);
        L->failed = 1;
        return NULL;
    }
    char *c = malloc(len + 1);
    if (!c) {
        char what[96];
        snprintf(what, sizeof what, "%zu bytes for a field of column '%.32s'", len + 1, L->cols[col]);
        fail_oom(L, what);
        return NULL;
    }
    memcpy(c, s, len);
    c[len] = '\0';
    return c;
}

static void on_field(void *s, size_t len, void *data) {
    loader *L = data;
    if (L->failed) return;
    const char *f = s ? s : "";
    if (!s) len = 0;
    if (!L->have_header) {
        if (L->n_cols == INT_MAX / 2 || append_col(L, f, len) != 0) {
            char what[96];
            snprintf(what, sizeof what, "header column %d of %zu bytes", L->n_cols + 1, len + 1);
            fail_oom(L, what);
        }
        return;
    }
    int k = L->n_fields;
    if (k < INT_MAX) L->n_fields++;
    /* the same column may serve as two roles, so no else-if */
    if (k == L->i_text && !(L->f_text = keep_field(L, f, len, k))) return;
    if (k == L->i_pair && !(L->f_pair = keep_field(L, f, len, k))) return;
    if (k == L->i_label && !(L->f_label = keep_field(L, f, len, k))) return;
}

static int find_col(loader *L, const char *want, const char *role, int *idx) {
    int found = -1;
    for (int i = 0; i < L->n_cols; i++) {
        if (strcmp(L->cols[i], want) != 0) continue;
        if (found >= 0)
            return bd_errf(L->e, "%s:%ld: %s '%s' names two columns (%d and %d)", L->name,
                           L->rec_line, role, want, found + 1, i + 1);
        found = i;
    }
    if (found >= 0) { *idx = found; return 0; }
    char list[640];
    join_names(list, sizeof list, L->cols, L->n_cols);
    char ex[EXCERPT_MAX];
    excerpt(ex, want);
    return bd_errf(L->e, "%s:%ld: no column '%s' (%s) in the header; columns: %s", L->name,
                   L->rec_line, ex, role, list);
}

static void finish_header(loader *L) {
    const bd_csv_opts *o = L->o;
    L->i_pair = -1;
    if (find_col(L, o->text_column, "text_column", &L->i_text) != 0 ||
        find_col(L, o->label_column, "label_column", &L->i_label) != 0 ||
        (o->text_pair_column && o->text_pair_column[0] &&
         find_col(L, o->text_pair_column, "text_pair_column", &L->i_pair) != 0)) {
        L->failed = 1;
        return;
    }
    L->have_header = 1;
}

static int grow_rows(loader *L) {
    bd_dataset *ds = L->ds;
    if (ds->n_rows < L->cap_rows) return 0;
    if (L->cap_rows >= INT_MAX / 2) return -1;
    int ncap = L->cap_rows ? L->cap_rows * 2 : 256;
    size_t nc = (size_t)ncap;
    char **t = realloc(ds->text, nc * sizeof *t);
    if (!t) return -1;
    ds->text = t;
    char **ls = realloc(ds->label_str, nc * sizeof *ls);
    if (!ls) return -1;
    ds->label_str = ls;
    int *ln = realloc(ds->line, nc * sizeof *ln);
    if (!ln) return -1;
    ds->line = ln;
    if (L->i_pair >= 0) {
        char **p = realloc(ds->text_pair, nc * sizeof *p);
        if (!p) return -1;
        ds->text_pair = p;
    }
    if (ds->task == BD_TASK_REGRESSION) {
        float *tg = realloc(ds->target, nc * sizeof *tg);
        if (!tg) return -1;
        ds->target = tg;
    }
    L->cap_rows = ncap;
    return 0;
}

static void trim_in_place(char *s) {
    size_t n = strlen(s), a = 0;
    while (n > 0 && is_blank((unsigned char)s[n - 1])) n--;
    while (a < n && is_blank((unsigned char)s[a])) a++;
    memmove(s, s + a, n - a);
    s[n - a] = '\0';
}

/* Check the finished record's label and append it to the dataset. */
static int commit_row(loader *L) {
    bd_dataset *ds = L->ds;
    const char *lcol = L->cols[L->i_label];
    trim_in_place(L->f_label);
    char ex[EXCERPT_MAX];
    float target = 0.0f;
    if (ds->task == BD_TASK_CLASSIFICATION) {
        if (!L->f_label[0])
            return bd_errf(L->e, "%s:%ld: empty label in column '%s'", L->name, L->rec_line, lcol);
    } else {
        if (!L->f_label[0])
            return bd_errf(L->e, "%s:%ld: empty regression target in column '%s'", L->name,
                           L->rec_line, lcol);
        char *end = NULL;
        double v = strtod_l(L->f_label, &end, L->c_numeric);
        excerpt(ex, L->f_label);
        if (end == L->f_label || *end != '\0')
            return bd_errf(L->e, "%s:%ld: regression target '%s' in column '%s' is not a number",
                           L->name, L->rec_line, ex, lcol);
        if (!isfinite(v) || fabs(v) > FLT_MAX)
            return bd_errf(L->e, "%s:%ld: regression target '%s' in column '%s' is not a finite float",
                           L->name, L->rec_line, ex, lcol);
        target = (float)v;
    }
    if (L->rec_line > INT_MAX)
        return bd_errf(L->e, "%s:%ld: too many lines (row line numbers must fit an int)", L->name,
                       L->rec_line);
    if (grow_rows(L) != 0) {
        char what[96];
        snprintf(what, sizeof what, "room for %d rows", L->cap_rows < INT_MAX / 2 ? L->cap_rows * 2 : INT_MAX);
        fail_oom(L, what);
        return -1;
    }
    int r = ds->n_rows++;
    ds->text[r] = L->f_text;
    ds->label_str[r] = L->f_label;
    ds->line[r] = (int)L->rec_line;
    if (ds->text_pair) ds->text_pair[r] = L->f_pair;
    if (ds->target) ds->target[r] = target;
    L->f_text = L->f_pair = L->f_label = NULL;
    return 0;
}

static void drop_record(loader *L) {
    free(L->f_text);
    free(L->f_pair);
    free(L->f_label);
    L->f_text = L->f_pair = L->f_label = NULL;
    L->n_fields = 0;
}

static void on_record(int term, void *data) {
    loader *L = data;
    (void)term;
    L->ended = 1;
    if (L->failed) return;
    if (!L->have_header) {
        finish_header(L);
        return;
    }
    if (L->n_fields != L->n_cols) {
        bd_errf(L->e, "%s:%ld: expected %d fields (as in the header), got %d", L->name,
                L->rec_line, L->n_cols, L->n_fields);
        L->failed = 1;
    } else if (commit_row(L) != 0) {
        L->failed = 1;
    }
    drop_record(L);
}

typedef struct line_state {
    long line;       /* line of the next byte */
    int prev_cr;     /* last byte was CR (so a following LF ends no new line) */
    int need_start;  /* the previous record ended; the next one has not begun */
} line_state;

/* Feed one chunk to libcsv. It is cut after every CR and LF so that a record
 * can only end at the end of a piece: that lets us see where the next record
 * starts (libcsv skips spaces, tabs and line breaks between records) and
 * count lines, including line breaks inside quoted fields. */
static int feed(loader *L, struct csv_parser *p, line_state *ls, const char *buf, size_t n) {
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && buf[j] != '\r' && buf[j] != '\n') j++;
        size_t end = j < n ? j + 1 : n;  /* include the line break, if any */
        if (ls->need_start) {
            for (size_t k = i; k < end; k++) {
                unsigned char c = (unsigned char)buf[k];
                if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
                    ls->need_start = 0;
                    L->rec_line = ls->line;
                    break;
                }
            }
        }
        L->ended = 0;
        if (csv_parse(p, buf + i, end - i, on_field, on_record, L) != end - i) {
            if (L->failed) return -1;
            if (csv_error(p) == CSV_EPARSE) {
                if (ls->line != L->rec_line)
                    return bd_errf(L->e, "%s:%ld: malformed quotes in the record starting at line %ld "
                                   "(a field with '\"' must be quoted, its quotes doubled)",
                                   L->name, ls->line, L->rec_line);
                return bd_errf(L->e, "%s:%ld: malformed quotes (a field with '\"' must be quoted, "
                               "its quotes doubled)", L->name, ls->line);
            }
            fail_oom(L, "libcsv's buffer for the current field");
            return -1;
        }
        if (L->failed) return -1;
        if (L->ended) ls->need_start = 1;
        if (end > j) {
            /* an LF right after a CR (CRLF, perhaps split across pieces) is no new line */
            if (buf[j] == '\r' || !(ls->prev_cr && j == i)) ls->line++;
            ls->prev_cr = buf[j] == '\r';
        } else if (end > i) {
            ls->prev_cr = 0;
        }
        i = end;
    }
    return 0;
}

static int read_all(loader *L, FILE *f) {
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        fail_oom(L, "libcsv's parser");
        return -1;
    }
    char *buf = malloc(READ_CHUNK);
    if (!buf) {
        csv_free(&p);
        fail_oom(L, "a 64 KiB read buffer");
        return -1;
    }
    line_state ls = {.line = 1, .prev_cr = 0, .need_start = 1};
    L->rec_line = 1;
    int rc = 0, first = 1;
    for (;;) {
        size_t n = fread(buf, 1, READ_CHUNK, f);
        if (n == 0) break;
        size_t off = 0;
        /* fread fills the whole chunk unless at EOF, so a BOM is never split */
        if (first && n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) off = 3;
        first = 0;
        if (feed(L, &p, &ls, buf + off, n - off) != 0) { rc = -1; break; }
    }
    if (rc == 0 && ferror(f)) {
        rc = bd_errf(L->e, "%s: read error: %s", L->name, strerror(errno));
    }
    if (rc == 0) {
        if (csv_fini(&p, on_field, on_record, L) != 0) {
            rc = bd_errf(L->e, "%s:%ld: quoted field never closed (missing '\"')", L->name,
                         L->rec_line);
        } else if (L->failed) {
            rc = -1;
        }
    }
    csv_free(&p);
    free(buf);
    return rc;
}

/* Class labels that are all numbers, at least one not an integer, were
 * most likely meant as a regression target: say so in ds->warning. */
static void numeric_label_warning(bd_dataset *ds, const char *col, locale_t c_numeric) {
    int frac = -1;
    for (int i = 0; i < ds->n_rows; i++) {
        const char *s = ds->label_str[i];
        char *end = NULL;
        double v = strtod_l(s, &end, c_numeric);
        if (end == s || *end != '\0' || !isfinite(v)) return; /* a word: real classes */
        if (frac < 0 && v != floor(v)) frac = i;
    }
    if (frac < 0) return;
    char ex[EXCERPT_MAX], cx[EXCERPT_MAX];
    excerpt(ex, ds->label_str[frac]);
    excerpt(cx, col);
    snprintf(ds->warning, sizeof ds->warning,
             "%s: label column looks numeric: use task = regression? (column '%s' holds only numbers, "
             "e.g. '%s' on line %d, read as class names)", ds->path, cx, ex, ds->line[frac]);
}

int bd_dataset_read(bd_dataset *ds, FILE *f, const char *name, const bd_csv_opts *o, bd_err *e) {
    memset(ds, 0, sizeof *ds);
    if (!o->text_column || !o->text_column[0])
        return bd_errf(e, "%s: text_column is empty", name);
    if (!o->label_column || !o->label_column[0])
        return bd_errf(e, "%s: label_column is empty", name);
    if (o->task != BD_TASK_CLASSIFICATION && o->task != BD_TASK_REGRESSION)
        return bd_errf(e, "%s: unknown task %d", name, (int)o->task);

    loader L = {.name = name, .o = o, .ds = ds, .e = e, .i_text = -1, .i_pair = -1, .i_label = -1};
    ds->task = o->task;
    int rc = 0;
    /* targets, and class labels checked for looking numeric */
    L.c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!L.c_numeric) rc = bd_errf(e, "%s: cannot create the C numeric locale", name);
    if (rc == 0) rc = read_all(&L, f);
    if (rc == 0 && !L.have_header) rc = bd_errf(e, "%s: empty file (no header row)", name);
    if (rc == 0 && ds->n_rows == 0)
        rc = bd_errf(e, "%s:%ld: no data rows after the header", name, L.rec_line);
    if (rc == 0 && !(ds->path = strdup(name))) rc = bd_errf(e, "%s: out of memory copying the file name", name);
    if (rc == 0 && o->task == BD_TASK_CLASSIFICATION) numeric_label_warning(ds, L.cols[L.i_label], L.c_numeric);

    drop_record(&L);
    for (int i = 0; i < L.n_cols; i++) free(L.cols[i]);
    free(L.cols);
    if (L.c_numeric) freelocale(L.c_numeric);
    if (rc != 0) bd_dataset_free(ds);
    return rc;
}

int bd_dataset_load(bd_dataset *ds, const char *path, const bd_csv_opts *o, bd_err *e) {
    memset(ds, 0, sizeof *ds);
    FILE *f = fopen(path, "rb");
    if (!f) return bd_errf(e, "%s: cannot open: %s", path, strerror(errno));
    int rc = bd_dataset_read(ds, f, path, o, e);
    fclose(f);
    return rc;
}

void bd_dataset_free(bd_dataset *ds) {
    if (!ds) return;
    for (int i = 0; i < ds->n_rows; i++) {
        if (ds->text) free(ds->text[i]);
        if (ds->text_pair) free(ds->text_pair[i]);
        if (ds->label_str) free(ds->label_str[i]);
    }
    free(ds->path);
    free(ds->text);
    free(ds->text_pair);
    free(ds->label_str);
    free(ds->line);
    free(ds->label);
    free(ds->target);
    memset(ds, 0, sizeof *ds);
}

/* ---- labels ----------------------------------------------------------- */

typedef struct label_key {
    const char *s;
    long long v;
} label_key;

static int cmp_str_key(const void *a, const void *b) {
    return strcmp(((const label_key *)a)->s, ((const label_key *)b)->s);
}

static int cmp_num_key(const void *a, const void *b) {
    const label_key *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return strcmp(x->s, y->s);  /* "01" and "1" are distinct labels */
}

static int parse_int_label(const char *s, long long *v) {
    if (!s[0] || is_blank((unsigned char)s[0])) return 0;
    char *end = NULL;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return errno == 0 && *end == '\0';
}

int bd_labels_from_dataset(bd_labels *L, const bd_dataset *ds, bd_err *e) {
    memset(L, 0, sizeof *L);
    const char *name = ds->path ? ds->path : "dataset";
    if (ds->task != BD_TASK_CLASSIFICATION || !ds->label_str)
        return bd_errf(e, "%s: class labels need task = classification", name);
    if (ds->n_rows <= 0) return bd_errf(e, "%s: no rows to take labels from", name);
    label_key *k = bd_malloc((size_t)ds->n_rows * sizeof *k, e);
    if (!k) return bd_err_prefix(e, "%s: sorting the labels of %d rows", name, ds->n_rows);
    int all_int = 1;
    for (int i = 0; i < ds->n_rows; i++) {
        k[i].s = ds->label_str[i];
        k[i].v = 0;
        if (all_int && !parse_int_label(k[i].s, &k[i].v)) all_int = 0;
    }
    qsort(k, (size_t)ds->n_rows, sizeof *k, cmp_str_key);
    int u = 0;
    for (int i = 0; i < ds->n_rows; i++)
        if (u == 0 || strcmp(k[u - 1].s, k[i].s) != 0) k[u++] = k[i];
    if (u > BD_MAX_CLASSES_FLOOR && u > ds->n_rows / 2) {
        free(k);
        return bd_errf(e, "%s: %d distinct labels in %d rows: most rows would be a class of their own "
                       "(refused above %d classes and half the rows); is label_column the right column%s?",
                       name, u, ds->n_rows, BD_MAX_CLASSES_FLOOR, ds->warning[0] || all_int ? ", or is it task = regression" : "");
    }
    if (all_int) qsort(k, (size_t)u, sizeof *k, cmp_num_key);
    L->names = bd_calloc((size_t)u, sizeof *L->names, e);
    if (!L->names) { free(k); return bd_err_prefix(e, "%s: the names of %d labels", name, u); }
    L->n = u;
    for (int i = 0; i < u; i++) {
        if (!(L->names[i] = strdup(k[i].s))) {
            free(k);
            bd_labels_free(L);
            return bd_errf(e, "%s: out of memory copying label %d of %d", name, i + 1, u);
        }
    }
    free(k);
    return 0;
}

int bd_dataset_map_labels(bd_dataset *ds, const bd_labels *L, bd_err *e) {
    const char *name = ds->path ? ds->path : "dataset";
    if (ds->task != BD_TASK_CLASSIFICATION || !ds->label_str)
        return bd_errf(e, "%s: class labels need task = classification", name);
    if (L->n <= 0) return bd_errf(e, "%s: the label set is empty", name);
    /* bsearch over a strcmp-sorted copy (v = class id), since L's own order may be numeric */
    label_key *order = bd_malloc((size_t)L->n * sizeof *order, e);
    if (!order) return bd_err_prefix(e, "%s: sorting %d labels", name, L->n);
    for (int i = 0; i < L->n; i++) {
        if (!L->names[i]) {
            free(order);
            return bd_errf(e, "%s: the label set has no name for class %d", name, i);
        }
        order[i] = (label_key){.s = L->names[i], .v = i};
    }
    qsort(order, (size_t)L->n, sizeof *order, cmp_str_key);
    for (int i = 1; i < L->n; i++) {
        if (strcmp(order[i - 1].s, order[i].s) == 0) {
            char ex[EXCERPT_MAX];
            excerpt(ex, order[i].s);
            free(order);
            return bd_errf(e, "%s: the label set holds '%s' twice", name, ex);
        }
    }
    int *lab = bd_malloc((size_t)(ds->n_rows > 0 ? ds->n_rows : 1) * sizeof *lab, e);
    if (!lab) { free(order); return bd_err_prefix(e, "%s: class ids of %d rows", name, ds->n_rows); }
    for (int r = 0; r < ds->n_rows; r++) {
        const char *want = ds->label_str[r];
        int lo = 0, hi = L->n - 1, hit = -1;
        while (lo <= hi) {
            int mid = lo + (hi - lo) / 2;
            int c = strcmp(want, order[mid].s);
            if (c == 0) { hit = (int)order[mid].v; break; }
            if (c < 0) hi = mid - 1; else lo = mid + 1;
        }
        if (hit < 0) {
            char ex[EXCERPT_MAX], list[512];
            join_names(list, sizeof list, L->names, L->n);
            excerpt(ex, want);
            free(order);
            free(lab);
            return bd_errf(e, "%s:%d: label '%s' is not one of the %d known labels (%s)", name,
                           ds->line ? ds->line[r] : 0, ex, L->n, list);
        }
        lab[r] = hit;
    }
    free(order);
    free(ds->label);
    ds->label = lab;
    return 0;
}

void bd_labels_free(bd_labels *L) {
    if (!L) return;
    for (int i = 0; i < L->n; i++) free(L->names ? L->names[i] : NULL);
    free(L->names);
    memset(L, 0, sizeof *L);
}

/* ---- split ------------------------------------------------------------ */

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int bd_split_rows(bd_split *s, int n, double f_train, double f_val, double f_eval,
                  uint64_t seed, bd_err *e) {
    memset(s, 0, sizeof *s);
    const double f[3] = {f_train, f_val, f_eval};
    const char *what[3] = {"train", "val", "eval"};
    for (int i = 0; i < 3; i++)
        if (!(f[i] >= 0.0 && f[i] <= 1.0))
            return bd_errf(e, "split: %s fraction %g is not in [0, 1]", what[i], f[i]);
    double sum = f_train + f_val + f_eval;
    if (fabs(sum - 1.0) > 1e-6)
        return bd_errf(e, "split: fractions %g,%g,%g sum to %.9g, not 1", f_train, f_val, f_eval, sum);
    if (n < 0) return bd_errf(e, "split: negative row count %d", n);

    int n_val = (int)lround((double)n * f_val);
    int n_eval = (int)lround((double)n * f_eval);
    if (n_val > n) n_val = n;
    if (n_eval > n - n_val) n_eval = n - n_val;  /* both rounded up past n */
    int n_train = n - n_val - n_eval;

    int *perm = bd_malloc((size_t)(n > 0 ? n : 1) * sizeof *perm, e);
    s->train = bd_malloc((size_t)(n_train > 0 ? n_train : 1) * sizeof *s->train, e);
    s->val = bd_malloc((size_t)(n_val > 0 ? n_val : 1) * sizeof *s->val, e);
    s->eval = bd_malloc((size_t)(n_eval > 0 ? n_eval : 1) * sizeof *s->eval, e);
    if (!perm || !s->train || !s->val || !s->eval) {
        free(perm);
        bd_split_free(s);
        return bd_err_prefix(e, "split: index lists of %d rows", n);
    }
    for (int i = 0; i < n; i++) perm[i] = i;
    bd_rng r;
    bd_rng_seed(&r, seed);
    bd_rng_shuffle(&r, perm, n);
    memcpy(s->val, perm, (size_t)n_val * sizeof *perm);
    memcpy(s->eval, perm + n_val, (size_t)n_eval * sizeof *perm);
    memcpy(s->train, perm + n_val + n_eval, (size_t)n_train * sizeof *perm);
    free(perm);
    qsort(s->train, (size_t)n_train, sizeof *s->train, cmp_int);
    qsort(s->val, (size_t)n_val, sizeof *s->val, cmp_int);
    qsort(s->eval, (size_t)n_eval, sizeof *s->eval, cmp_int);
    s->n_train = n_train;
    s->n_val = n_val;
    s->n_eval = n_eval;
    return 0;
}

void bd_split_free(bd_split *s) {
    if (!s) return;
    free(s->train);
    free(s->val);
    free(s->eval);
    memset(s, 0, sizeof *s);
}
