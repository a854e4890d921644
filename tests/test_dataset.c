/* test_dataset.c: CSV loading (BOM, CRLF, quotes, line numbers, every
 * error), label sets, the seeded split, and the synthetic generator. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"

static char g_dir[256];

static int setup_dir(void **state) {
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/bd_dataset_XXXXXX", t && t[0] ? t : "/tmp");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown_dir(void **state) {
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write len bytes (NULs allowed) to DIR/name; returns a static path. */
static const char *write_bytes(const char *name, const char *data, size_t len) {
    static char path[4][512];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, 512, "%s/%s", g_dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return p;
}

static const char *write_csv(const char *name, const char *data) {
    return write_bytes(name, data, strlen(data));
}

static const bd_csv_opts CLS = {"text", NULL, "label", BD_TASK_CLASSIFICATION};
static const bd_csv_opts REG = {"text", NULL, "label", BD_TASK_REGRESSION};

static void test_bom_crlf(void **state) {
    (void)state;
    const char *p = write_csv("bom.csv", "\xEF\xBB\xBFtext,label\r\nhello world,pos\r\n"
                                         "\"a, b\",neg\r\n\r\n\r\n");
    bd_dataset ds;
    bd_err e = {{0}};
    assert_int_equal(bd_dataset_load(&ds, p, &CLS, &e), 0);
    assert_int_equal(ds.n_rows, 2);
    assert_string_equal(ds.path, p);
    assert_string_equal(ds.text[0], "hello world");
    assert_string_equal(ds.label_str[0], "pos");
    assert_string_equal(ds.text[1], "a, b");
    assert_string_equal(ds.label_str[1], "neg");
    assert_int_equal(ds.line[0], 2);
    assert_int_equal(ds.line[1], 3);
    assert_null(ds.text_pair);
    assert_null(ds.target);
    assert_null(ds.label);
    bd_dataset_free(&ds);

    /* BOM before a quoted first header name */
    p = write_csv("bomq.csv", "\xEF\xBB\xBF\"text\",label\nx,y\n");
    assert_int_equal(bd_dataset_load(&ds, p, &CLS, &e), 0);
    assert_string_equal(ds.text[0], "x");
    bd_dataset_free(&ds);
}

static void test_quoted_fields_and_lines(void **state) {
    (void)state;
    const char *csv =
        "text,label\n"                           /* 1 */
        "\"He said \"\"hi\"\", then left\",a\n"  /* 2 */
        "\"first line\nsecond line\n"            /* 3, 4 */
        "third\",b\n"                            /* 5 */
        "plain,c\n"                              /* 6 */
        "\n"                                     /* 7 */
        "\"x\r\ny\",d\n"                         /* 8, 9 */
        "   \n"                                  /* 10 */
        "  spaced out  ,\"  e  \"\n"             /* 11 */
        "\"  kept  \",f";                        /* 12, no final newline */
    const char *p = write_csv("quoted.csv", csv);
    bd_dataset ds;
    bd_err e = {{0}};
    assert_int_equal(bd_dataset_load(&ds, p, &CLS, &e), 0);
    assert_int_equal(ds.n_rows, 6);
    assert_string_equal(ds.text[0], "He said \"hi\", then left");
    assert_string_equal(ds.text[1], "first line\nsecond line\nthird");
    assert_string_equal(ds.text[2], "plain");
    assert_string_equal(ds.text[3], "x\r\ny");
    assert_string_equal(ds.text[4], "spaced out");  /* libcsv trims unquoted fields */
    assert_string_equal(ds.text[5], "  kept  ");    /* but not quoted ones */
    assert_string_equal(ds.label_str[4], "e");      /* labels are trimmed */
    assert_string_equal(ds.label_str[5], "f");
    const int want[6] = {2, 3, 6, 8, 11, 12};
    for (int i = 0; i < 6; i++) assert_int_equal(ds.line[i], want[i]);
    bd_dataset_free(&ds);
}

static void test_line_endings(void **state) {
    (void)state;
    bd_dataset ds;
    bd_err e = {{0}};
    /* old Mac CR-only, with a CR inside quotes */
    const char *p = write_csv("cr.csv", "text,label\rx,a\r\"y\rz\",b\rw,c\r");
    assert_int_equal(bd_dataset_load(&ds, p, &CLS, &e), 0);
    assert_int_equal(ds.n_rows, 3);
    assert_int_equal(ds.line[0], 2);
    assert_int_equal(ds.line[1], 3);
    assert_int_equal(ds.line[2], 5);
    assert_string_equal(ds.text[1], "y\rz");
    bd_dataset_free(&ds);
    /* mixed endings: a CR line, then LF lines (the fuzzer found this one) */
    p = write_csv("mixed.csv", "text,label\rx,a\ny,b\r\nz,c\n");
    assert_int_equal(bd_dataset_load(&ds, p, &CLS, &e), 0);
    assert_int_equal(ds.n_rows, 3);
    assert_int_equal(ds.line[0], 2);
    assert_int_equal(ds.line[1], 3);
    assert_int_equal(ds.line[2], 4);
    bd_dataset_free(&ds);
    /* blank lines before the header and between rows */
    p = write_csv("blank.csv", "\n \r\ntext,label\n\n\nx,a\r\n\t\ny,b");
    assert_int_equal(bd_dataset_load(&ds, p, &CLS, &e), 0);
    assert_int_equal(ds.n_rows, 2);
    assert_int_equal(ds.line[0], 6);
    assert_int_equal(ds.line[1], 8);
    bd_dataset_free(&ds);
}

/* More than one 64 KiB read chunk, with quoted newlines and one field that
 * is itself longer than a chunk: line numbers must stay exact. */
static void test_large_file_lines(void **state) {
    (void)state;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    n += (size_t)sprintf(buf + n, "label,text\n");
    int line = 2, rows = 0;
    int want_line[3100];
    for (int i = 0; i < 3000; i++, rows++) {
        want_line[rows] = line;
        n += (size_t)sprintf(buf + n, "%d,\"row %d\nhas \"\"two\"\"\r\nbreaks\"\n", i % 3, i);
        line += 3;
    }
    want_line[rows++] = line;
    n += (size_t)sprintf(buf + n, "9,\"");
    size_t long_start = n;
    for (int i = 0; i < 2000; i++) { n += (size_t)sprintf(buf + n, "long line %04d, xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", i); line++; }
    n += (size_t)sprintf(buf + n, "end\"\n");
    size_t long_len = n - long_start - 2;
    line++;
    want_line[rows++] = line;
    n += (size_t)sprintf(buf + n, "7,last\n");
    assert_true(n < cap && n > 3 * 65536);
    const char *p = write_bytes("large.csv", buf, n);
    bd_dataset ds;
    bd_err e = {{0}};
    assert_int_equal(bd_dataset_load(&ds, p, &CLS, &e), 0);
    assert_int_equal(ds.n_rows, rows);
    for (int i = 0; i < rows; i++) assert_int_equal(ds.line[i], want_line[i]);
    assert_string_equal(ds.text[1234], "row 1234\nhas \"two\"\r\nbreaks");
    assert_true(long_len > 65536);
    assert_int_equal(strlen(ds.text[3000]), long_len);
    assert_memory_equal(ds.text[3000], buf + long_start, long_len);
    assert_string_equal(ds.text[3001], "last");
    bd_dataset_free(&ds);
    free(buf);
}

static void test_pair_column(void **state) {
    (void)state;
    const char *p = write_csv("pair.csv", "id,sentence1,sentence2,label\n"
                                          "1,A man plays.,Someone plays.,1\n"
                                          "2,\"Cats, dogs\",\"Pets\",0\n");
    bd_csv_opts o = {"sentence1", "sentence2", "label", BD_TASK_CLASSIFICATION};
    bd_dataset ds;
    bd_err e = {{0}};
    assert_int_equal(bd_dataset_load(&ds, p, &o, &e), 0);
    assert_non_null(ds.text_pair);
    assert_string_equal(ds.text[0], "A man plays.");
    assert_string_equal(ds.text_pair[0], "Someone plays.");
    assert_string_equal(ds.text[1], "Cats, dogs");
    assert_string_equal(ds.text_pair[1], "Pets");
    bd_dataset_free(&ds);
    o.text_pair_column = "";  /* "" means no pair */
    assert_int_equal(bd_dataset_load(&ds, p, &o, &e), 0);
    assert_null(ds.text_pair);
    bd_dataset_free(&ds);
    /* one column may play two roles */
    o.label_column = "sentence2";
    assert_int_equal(bd_dataset_load(&ds, p, &o, &e), 0);
    assert_string_equal(ds.label_str[1], "Pets");
    bd_dataset_free(&ds);
}

static void test_regression(void **state) {
    (void)state;
    const char *p = write_csv("reg.csv", "label,text\n0.5,a\n -2.25e1 ,b\n\"3\",c\n\" 1e-3 \",d\n-0,e\n");
    bd_dataset ds;
    bd_err e = {{0}};
    assert_int_equal(bd_dataset_load(&ds, p, &REG, &e), 0);
    assert_int_equal(ds.n_rows, 5);
    assert_non_null(ds.target);
    assert_float_equal(ds.target[0], 0.5f, 0);
    assert_float_equal(ds.target[1], -22.5f, 0);
    assert_float_equal(ds.target[2], 3.0f, 0);
    assert_float_equal(ds.target[3], 1e-3f, 0);
    assert_float_equal(ds.target[4], 0.0f, 0);
    assert_string_equal(ds.label_str[1], "-2.25e1");
    bd_dataset_free(&ds);
}

/* strtod must read '.' even when the UI has set a comma-decimal locale. */
static void test_regression_locale(void **state) {
    (void)state;
    const char *loc = setlocale(LC_NUMERIC, "de_DE.UTF-8");
    if (!loc) loc = setlocale(LC_NUMERIC, "fr_FR.UTF-8");
    if (!loc) { skip(); return; }
    const char *p = write_csv("loc.csv", "text,label\na,2.5\n");
    bd_dataset ds;
    bd_err e = {{0}};
    int rc = bd_dataset_load(&ds, p, &REG, &e);
    setlocale(LC_NUMERIC, "C");
    assert_int_equal(rc, 0);
    assert_float_equal(ds.target[0], 2.5f, 0);
    bd_dataset_free(&ds);
}

static void test_read_stream(void **state) {
    (void)state;
    static const char csv[] = "text,label\n\"a\nb\",x\n";
    FILE *f = fmemopen((void *)csv, sizeof csv - 1, "rb");
    assert_non_null(f);
    bd_dataset ds;
    bd_err e = {{0}};
    assert_int_equal(bd_dataset_read(&ds, f, "<memory>", &CLS, &e), 0);
    fclose(f);
    assert_string_equal(ds.path, "<memory>");
    assert_string_equal(ds.text[0], "a\nb");
    assert_int_equal(ds.line[0], 2);
    bd_dataset_free(&ds);
}

typedef struct bad_case {
    const char *content;
    size_t len;          /* 0: strlen(content) */
    bd_task task;
    const char *line;    /* ":N:" expected right after the path, or NULL */
    const char *phrase;  /* must appear in the message */
    const char *phrase2; /* and this too, when not NULL */
} bad_case;

static void test_bad_inputs(void **state) {
    (void)state;
    static const bad_case cases[] = {
        {"", 0, BD_TASK_CLASSIFICATION, NULL, "empty file", NULL},
        {"\n\r\n  \n", 0, BD_TASK_CLASSIFICATION, NULL, "empty file", NULL},
        {"a,b\n1,2\n", 0, BD_TASK_CLASSIFICATION, ":1:", "no column 'text'", "columns: a, b"},
        {"text,lab\n1,2\n", 0, BD_TASK_CLASSIFICATION, ":1:", "no column 'label'", "columns: text, lab"},
        {"text,text,label\n1,2,3\n", 0, BD_TASK_CLASSIFICATION, ":1:", "names two columns", NULL},
        {"text,label\nx,y\nx,y,z\n", 0, BD_TASK_CLASSIFICATION, ":3:", "expected 2 fields", "got 3"},
        {"text,label\nx,y\n\n\"p\nq\"\n", 0, BD_TASK_CLASSIFICATION, ":4:", "expected 2 fields", "got 1"},
        {"text,label\nx,y\nz", 0, BD_TASK_CLASSIFICATION, ":3:", "expected 2 fields", "got 1"},
        {"text,label\nab\"c,x\n", 0, BD_TASK_CLASSIFICATION, ":2:", "malformed quotes", NULL},
        {"text,label\n\"ab\"c,x\n", 0, BD_TASK_CLASSIFICATION, ":2:", "malformed quotes", NULL},
        {"text,label\nok,1\n\"a\nb\"c,x\n", 0, BD_TASK_CLASSIFICATION, ":4:", "malformed quotes",
         "starting at line 3"},
        {"text,label\nok,1\n\"abc,x\nmore\n", 0, BD_TASK_CLASSIFICATION, ":3:", "never closed", NULL},
        {"text,label\n", 0, BD_TASK_CLASSIFICATION, ":1:", "no data rows", NULL},
        {"text,label\r\n\r\n", 0, BD_TASK_CLASSIFICATION, ":1:", "no data rows", NULL},
        {"text,label\nx,1\ny,\n", 0, BD_TASK_CLASSIFICATION, ":3:", "empty label", "'label'"},
        {"text,label\nx,\"  \"\n", 0, BD_TASK_CLASSIFICATION, ":2:", "empty label", NULL},
        {"text,label\n\xff\xfe,x\n", 0, BD_TASK_CLASSIFICATION, ":2:", "not valid UTF-8", "'text'"},
        {"text,label\n\xed\xa0\x80,x\n", 0, BD_TASK_CLASSIFICATION, ":2:", "not valid UTF-8", NULL},
        {"text,label\na\0b,x\n", 17, BD_TASK_CLASSIFICATION, ":2:", "NUL byte", NULL},
        {"text,label\nx,1.5\ny,abc\n", 0, BD_TASK_REGRESSION, ":3:", "'abc'", "not a number"},
        {"text,label\nx,1.5x\n", 0, BD_TASK_REGRESSION, ":2:", "'1.5x'", "not a number"},
        {"text,label\nx,1 2\n", 0, BD_TASK_REGRESSION, ":2:", "not a number", NULL},
        {"text,label\nx,nan\n", 0, BD_TASK_REGRESSION, ":2:", "'nan'", "not a finite float"},
        {"text,label\nx,-inf\n", 0, BD_TASK_REGRESSION, ":2:", "'-inf'", "not a finite float"},
        {"text,label\nx,1e400\n", 0, BD_TASK_REGRESSION, ":2:", "not a finite float", NULL},
        {"text,label\nx,1e39\n", 0, BD_TASK_REGRESSION, ":2:", "not a finite float", NULL},
        {"text,label\nx,\n", 0, BD_TASK_REGRESSION, ":2:", "empty regression target", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        char name[32];
        snprintf(name, sizeof name, "bad%02zu.csv", i);
        const char *p = write_bytes(name, c->content, c->len ? c->len : strlen(c->content));
        bd_csv_opts o = {"text", NULL, "label", c->task};
        bd_dataset ds;
        bd_err e = {{0}};
        int rc = bd_dataset_load(&ds, p, &o, &e);
        if (rc != -1) fail_msg("case %zu: loaded, expected '%s'", i, c->phrase);
        /* "PATH:N: ..." or "PATH: ..." */
        if (strncmp(e.msg, p, strlen(p)) != 0) fail_msg("case %zu: '%s' lacks path", i, e.msg);
        const char *after = e.msg + strlen(p);
        if (c->line && strncmp(after, c->line, strlen(c->line)) != 0)
            fail_msg("case %zu: '%s' lacks line %s", i, e.msg, c->line);
        if (!strstr(e.msg, c->phrase)) fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, c->phrase);
        if (c->phrase2 && !strstr(e.msg, c->phrase2))
            fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, c->phrase2);
        if (strchr(e.msg, '\n')) fail_msg("case %zu: message spans lines: '%s'", i, e.msg);
        assert_int_equal(ds.n_rows, 0);
        assert_null(ds.text);
        bd_dataset_free(&ds);
    }
}

static void test_missing_file(void **state) {
    (void)state;
    char p[600];
    snprintf(p, sizeof p, "%s/does_not_exist.csv", g_dir);
    bd_dataset ds;
    bd_err e = {{0}};
    assert_int_equal(bd_dataset_load(&ds, p, &CLS, &e), -1);
    assert_non_null(strstr(e.msg, p));
    assert_non_null(strstr(e.msg, "cannot open"));
    assert_non_null(strstr(e.msg, "No such file"));
    bd_csv_opts o = {"", NULL, "label", BD_TASK_CLASSIFICATION};
    const char *q = write_csv("ok.csv", "text,label\nx,y\n");
    assert_int_equal(bd_dataset_load(&ds, q, &o, &e), -1);
    assert_non_null(strstr(e.msg, "text_column is empty"));
}

static void load_labels(const char *csv, bd_dataset *ds, bd_labels *L) {
    const char *p = write_csv("labels.csv", csv);
    bd_err e = {{0}};
    assert_int_equal(bd_dataset_load(ds, p, &CLS, &e), 0);
    if (bd_labels_from_dataset(L, ds, &e) != 0) fail_msg("%s", e.msg);
}

static void test_labels_numeric(void **state) {
    (void)state;
    bd_dataset ds;
    bd_labels L;
    bd_err e = {{0}};
    load_labels("text,label\na,10\nb,2\nc,1\nd,2\ne,-3\nf,10\n", &ds, &L);
    assert_int_equal(L.n, 4);
    assert_string_equal(L.names[0], "-3");
    assert_string_equal(L.names[1], "1");
    assert_string_equal(L.names[2], "2");
    assert_string_equal(L.names[3], "10");
    assert_int_equal(bd_dataset_map_labels(&ds, &L, &e), 0);
    const int want[6] = {3, 2, 1, 2, 0, 3};
    for (int i = 0; i < 6; i++) assert_int_equal(ds.label[i], want[i]);
    bd_labels_free(&L);
    bd_dataset_free(&ds);
    /* equal values, distinct strings: both kept, in strcmp order */
    load_labels("text,label\na,1\nb,01\n", &ds, &L);
    assert_int_equal(L.n, 2);
    assert_string_equal(L.names[0], "01");
    assert_string_equal(L.names[1], "1");
    bd_labels_free(&L);
    bd_dataset_free(&ds);
}

static void test_labels_strings(void **state) {
    (void)state;
    bd_dataset ds;
    bd_labels L;
    load_labels("text,label\na,b\nb,a\nc,10\nd,2\ne,a\n", &ds, &L);
    assert_int_equal(L.n, 4);
    assert_string_equal(L.names[0], "10");
    assert_string_equal(L.names[1], "2");
    assert_string_equal(L.names[2], "a");
    assert_string_equal(L.names[3], "b");
    bd_labels_free(&L);
    bd_dataset_free(&ds);
}

static void test_map_labels_unknown(void **state) {
    (void)state;
    bd_dataset train, val;
    bd_labels L;
    bd_err e = {{0}};
    load_labels("text,label\na,neg\nb,pos\n", &train, &L);
    const char *p = write_csv("val.csv", "text,label\nx,pos\n\"y\nz\",neutral\n");
    assert_int_equal(bd_dataset_load(&val, p, &CLS, &e), 0);
    assert_int_equal(bd_dataset_map_labels(&val, &L, &e), -1);
    assert_int_equal(strncmp(e.msg, p, strlen(p)), 0);
    assert_non_null(strstr(e.msg, ":3:"));
    assert_non_null(strstr(e.msg, "'neutral'"));
    assert_non_null(strstr(e.msg, "neg, pos"));
    assert_null(val.label);
    bd_dataset_free(&val);
    bd_labels_free(&L);
    bd_dataset_free(&train);

    /* a hand-built label set (e.g. a model's id2label) must be usable */
    assert_int_equal(bd_dataset_load(&val, p, &CLS, &e), 0);
    char *dup[2] = {"pos", "pos"}, *hole[2] = {"pos", NULL};
    bd_labels bad = {2, dup};
    assert_int_equal(bd_dataset_map_labels(&val, &bad, &e), -1);
    assert_non_null(strstr(e.msg, "'pos' twice"));
    bad.names = hole;
    assert_int_equal(bd_dataset_map_labels(&val, &bad, &e), -1);
    assert_non_null(strstr(e.msg, "no name for class 1"));
    bd_dataset_free(&val);

    /* regression rows have no classes */
    p = write_csv("r.csv", "text,label\nx,1\n");
    assert_int_equal(bd_dataset_load(&val, p, &REG, &e), 0);
    assert_int_equal(bd_labels_from_dataset(&L, &val, &e), -1);
    assert_non_null(strstr(e.msg, "classification"));
    bd_dataset_free(&val);
}

/* Class labels that are numbers with fractions look like a regression
 * target: the load succeeds with a one-line warning (issue 11). */
static void test_labels_look_numeric(void **state) {
    (void)state;
    bd_dataset ds;
    bd_err e = {{0}};
    const char *p = write_csv("num.csv", "text,score\na,1\nb,0.5\nc,3.7\n");
    const bd_csv_opts o = {"text", NULL, "score", BD_TASK_CLASSIFICATION};
    assert_int_equal(bd_dataset_load(&ds, p, &o, &e), 0);
    assert_int_equal(strncmp(ds.warning, p, strlen(p)), 0);
    assert_non_null(strstr(ds.warning, "label column looks numeric: use task = regression?"));
    assert_non_null(strstr(ds.warning, "'0.5' on line 3"));
    assert_null(strchr(ds.warning, '\n'));
    bd_dataset_free(&ds);
    /* integers (also written 1.0), words, or a mix: real classes, no warning */
    const char *quiet[] = {"text,score\na,1\nb,0\nc,2\n", "text,score\na,1.0\nb,0.0\n",
                           "text,score\na,pos\nb,neg\n", "text,score\na,0.5\nb,cat\n"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(bd_dataset_load(&ds, write_csv("q.csv", quiet[i]), &o, &e), 0);
        assert_string_equal(ds.warning, "");
        bd_dataset_free(&ds);
    }
    /* a regression load of the same file: no warning either */
    p = write_csv("num.csv", "text,score\na,1\nb,0.5\nc,3.7\n"); /* write_csv's path slots rotate */
    assert_int_equal(bd_dataset_load(&ds, p, &(bd_csv_opts){"text", NULL, "score", BD_TASK_REGRESSION}, &e), 0);
    assert_string_equal(ds.warning, "");
    bd_dataset_free(&ds);
}

/* rows lines "r<i>,<label of row i>" with label(i) from a pattern */
static const char *class_csv(int rows, int distinct, const char *prefix) {
    size_t cap = (size_t)rows * 32 + 32;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t n = (size_t)snprintf(buf, cap, "text,label\n");
    for (int i = 0; i < rows; i++) n += (size_t)snprintf(buf + n, cap - n, "r%d,%s%d\n", i, prefix, i % distinct);
    const char *p = write_csv("many.csv", buf);
    free(buf);
    return p;
}

/* More classes than BD_MAX_CLASSES_FLOOR and than half the rows is a wrong
 * column (100k labels on 100k rows ran 10 GB and printed NaN): refused. */
static void test_labels_too_many(void **state) {
    (void)state;
    bd_dataset ds;
    bd_labels L;
    bd_err e = {{0}};
    assert_int_equal(bd_dataset_load(&ds, class_csv(300, 300, "c"), &CLS, &e), 0);
    assert_int_equal(bd_labels_from_dataset(&L, &ds, &e), -1);
    assert_non_null(strstr(e.msg, "many.csv: 300 distinct labels in 300 rows"));
    assert_non_null(strstr(e.msg, "label_column"));
    assert_null(strstr(e.msg, "regression")); /* words: no regression hint */
    assert_null(L.names);
    bd_dataset_free(&ds);
    /* integers one per row look like a target: the message says so */
    assert_int_equal(bd_dataset_load(&ds, class_csv(300, 300, ""), &CLS, &e), 0);
    assert_int_equal(bd_labels_from_dataset(&L, &ds, &e), -1);
    assert_non_null(strstr(e.msg, "task = regression"));
    bd_dataset_free(&ds);
    /* at the bounds: 100 classes on 100 rows (the floor), 150 on 300 rows (half) */
    const int ok[2][2] = {{100, 100}, {300, 150}};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(bd_dataset_load(&ds, class_csv(ok[i][0], ok[i][1], "c"), &CLS, &e), 0);
        if (bd_labels_from_dataset(&L, &ds, &e)) fail_msg("%s", e.msg);
        assert_int_equal(L.n, ok[i][1]);
        bd_labels_free(&L);
        bd_dataset_free(&ds);
    }
    assert_int_equal(bd_dataset_load(&ds, class_csv(300, 151, "c"), &CLS, &e), 0);
    assert_int_equal(bd_labels_from_dataset(&L, &ds, &e), -1);
    bd_dataset_free(&ds);
}

static void check_split(const bd_split *s, int n) {
    char *seen = calloc((size_t)n + 1, 1);
    assert_non_null(seen);
    const int *lists[3] = {s->train, s->val, s->eval};
    const int counts[3] = {s->n_train, s->n_val, s->n_eval};
    for (int l = 0; l < 3; l++) {
        for (int i = 0; i < counts[l]; i++) {
            int v = lists[l][i];
            assert_in_range(v, 0, n - 1);
            assert_int_equal(seen[v], 0);  /* disjoint */
            seen[v] = 1;
            if (i) assert_true(lists[l][i - 1] < v);  /* sorted */
        }
    }
    for (int i = 0; i < n; i++) assert_int_equal(seen[i], 1);  /* covering */
    free(seen);
}

static void test_split(void **state) {
    (void)state;
    bd_split a, b, c;
    bd_err e = {{0}};
    assert_int_equal(bd_split_rows(&a, 100, 0.64, 0.16, 0.20, 42, &e), 0);
    assert_int_equal(a.n_train, 64);
    assert_int_equal(a.n_val, 16);
    assert_int_equal(a.n_eval, 20);
    check_split(&a, 100);
    assert_int_equal(bd_split_rows(&b, 100, 0.64, 0.16, 0.20, 42, &e), 0);
    assert_memory_equal(a.train, b.train, 64 * sizeof(int));
    assert_memory_equal(a.val, b.val, 16 * sizeof(int));
    assert_memory_equal(a.eval, b.eval, 20 * sizeof(int));
    assert_int_equal(bd_split_rows(&c, 100, 0.64, 0.16, 0.20, 43, &e), 0);
    assert_true(memcmp(a.val, c.val, 16 * sizeof(int)) != 0);
    /* the shuffle really moves rows: val is not simply the first 16 */
    int first16 = 1;
    for (int i = 0; i < 16; i++) first16 &= a.val[i] == i;
    assert_false(first16);
    bd_split_free(&a);
    bd_split_free(&b);
    bd_split_free(&c);

    assert_int_equal(bd_split_rows(&a, 7, 0.5, 0.25, 0.25, 1, &e), 0);  /* 1.75 -> 2 each */
    assert_int_equal(a.n_val, 2);
    assert_int_equal(a.n_eval, 2);
    assert_int_equal(a.n_train, 3);
    check_split(&a, 7);
    bd_split_free(&a);
    assert_int_equal(bd_split_rows(&a, 1, 0.0, 0.5, 0.5, 1, &e), 0);  /* rounding past n */
    assert_int_equal(a.n_val + a.n_eval + a.n_train, 1);
    check_split(&a, 1);
    bd_split_free(&a);
    assert_int_equal(bd_split_rows(&a, 0, 0.8, 0.1, 0.1, 1, &e), 0);
    assert_int_equal(a.n_train + a.n_val + a.n_eval, 0);
    assert_non_null(a.train);
    bd_split_free(&a);
    assert_int_equal(bd_split_rows(&a, 10, 1.0, 0.0, 0.0, 1, &e), 0);
    assert_int_equal(a.n_train, 10);
    for (int i = 0; i < 10; i++) assert_int_equal(a.train[i], i);
    bd_split_free(&a);
}

static void test_split_bad_fractions(void **state) {
    (void)state;
    bd_split s;
    bd_err e = {{0}};
    assert_int_equal(bd_split_rows(&s, 10, 0.7, 0.2, 0.2, 1, &e), -1);
    assert_non_null(strstr(e.msg, "sum to 1.1"));
    assert_int_equal(bd_split_rows(&s, 10, 1.2, -0.1, -0.1, 1, &e), -1);
    assert_non_null(strstr(e.msg, "train fraction 1.2 is not in [0, 1]"));
    assert_int_equal(bd_split_rows(&s, 10, 0.5, 0.6, -0.1, 1, &e), -1);
    assert_non_null(strstr(e.msg, "eval fraction -0.1"));
    assert_int_equal(bd_split_rows(&s, 10, 0.5, NAN, 0.5, 1, &e), -1);
    assert_non_null(strstr(e.msg, "val fraction"));
    assert_int_equal(bd_split_rows(&s, 10, 0.6, 0.2, 0.2 + 2e-6, 1, &e), -1);
    assert_int_equal(bd_split_rows(&s, 10, 0.6, 0.2, 0.2 + 5e-7, 1, &e), 0);
    bd_split_free(&s);
}

static const char *const POS_WORDS[] = {"great", "wonderful", "brilliant", "moving", "delightful", "superb",
                                        "charming", "funny", "gripping", "beautiful", "clever", "heartfelt"};
static const char *const NEG_WORDS[] = {"terrible", "boring", "awful", "dull", "clumsy", "tedious",
                                        "predictable", "bland", "painful", "forgettable", "messy", "lifeless"};

static int has_any(const char *s, const char *const *w, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strstr(s, w[i])) return 1;
    return 0;
}

static int run_gen(const char *out, int n, int seed) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "sh datasets/gen_synthetic.sh '%s' %d %d%s", out, n, seed,
             n > 0 ? "" : " 2>/dev/null");
    return system(cmd);
}

static void test_synthetic_generator(void **state) {
    (void)state;
    if (access("datasets/gen_synthetic.sh", R_OK) != 0)
        fail_msg("run from the repository root: datasets/gen_synthetic.sh not found");
    char p1[600], p2[600], p3[600];
    snprintf(p1, sizeof p1, "%s/syn1.csv", g_dir);
    snprintf(p2, sizeof p2, "%s/syn2.csv", g_dir);
    snprintf(p3, sizeof p3, "%s/syn3.csv", g_dir);
    assert_int_equal(run_gen(p1, 300, 42), 0);
    assert_int_equal(run_gen(p2, 300, 42), 0);
    assert_int_equal(run_gen(p3, 300, 43), 0);
    size_t n1, n2, n3;
    bd_err e = {{0}};
    char *b1 = bd_read_file(p1, &n1, &e), *b2 = bd_read_file(p2, &n2, &e), *b3 = bd_read_file(p3, &n3, &e);
    assert_non_null(b1);
    assert_non_null(b2);
    assert_non_null(b3);
    assert_true(n1 == n2 && memcmp(b1, b2, n1) == 0);  /* same seed, same bytes */
    assert_false(n1 == n3 && memcmp(b1, b3, n1) == 0);
    free(b1);
    free(b2);
    free(b3);

    bd_dataset ds;
    bd_labels L;
    assert_int_equal(bd_dataset_load(&ds, p1, &CLS, &e), 0);
    assert_int_equal(ds.n_rows, 300);
    assert_int_equal(bd_labels_from_dataset(&L, &ds, &e), 0);
    assert_int_equal(L.n, 2);
    assert_string_equal(L.names[0], "negative");
    assert_string_equal(L.names[1], "positive");
    assert_int_equal(bd_dataset_map_labels(&ds, &L, &e), 0);
    int n_pos = 0, n_comma = 0, n_quote = 0;
    size_t np = sizeof POS_WORDS / sizeof POS_WORDS[0], nn = sizeof NEG_WORDS / sizeof NEG_WORDS[0];
    for (int i = 0; i < ds.n_rows; i++) {
        const char *t = ds.text[i];
        int pos = ds.label[i] == 1;
        n_pos += pos;
        /* the label follows from the words */
        assert_int_equal(has_any(t, POS_WORDS, np), pos);
        assert_int_equal(has_any(t, NEG_WORDS, nn), !pos);
        n_comma += strchr(t, ',') != NULL;
        n_quote += strchr(t, '"') != NULL;
        assert_int_equal(ds.line[i], i + 2);
    }
    assert_in_range(n_pos, 100, 200);  /* roughly balanced */
    assert_true(n_comma > 30);
    assert_true(n_quote > 30);
    bd_labels_free(&L);
    bd_dataset_free(&ds);

    snprintf(p2, sizeof p2, "%s/never.csv", g_dir);
    assert_true(run_gen(p2, 0, 1) != 0);  /* bad arguments fail */
    assert_int_equal(access(p2, F_OK), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bom_crlf),
        cmocka_unit_test(test_quoted_fields_and_lines),
        cmocka_unit_test(test_line_endings),
        cmocka_unit_test(test_large_file_lines),
        cmocka_unit_test(test_pair_column),
        cmocka_unit_test(test_regression),
        cmocka_unit_test(test_regression_locale),
        cmocka_unit_test(test_read_stream),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_labels_numeric),
        cmocka_unit_test(test_labels_strings),
        cmocka_unit_test(test_map_labels_unknown),
        cmocka_unit_test(test_labels_look_numeric),
        cmocka_unit_test(test_labels_too_many),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_split_bad_fractions),
        cmocka_unit_test(test_synthetic_generator),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
