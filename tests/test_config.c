/* test_config.c: the INI reader (lines of any length, line numbers, no
 * continuation lines, a key given twice), values longer than their field,
 * run_name, and that a written config reads back exactly (issue 11). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* Read text (len bytes, NULs allowed) as the INI file "t.ini" onto the defaults. */
static int read_ini_n(bd_config *c, const char *text, size_t len, bd_err *e) {
    bd_config_defaults(c);
    FILE *f = fmemopen((void *)text, len, "rb");
    assert_non_null(f);
    int rc = bd_config_read(c, f, "t.ini", e);
    fclose(f);
    return rc;
}
static int read_ini(bd_config *c, const char *text, bd_err *e) { return read_ini_n(c, text, strlen(text), e); }

/* A refused file: one line starting "t.ini:LINE:" and holding every word. */
static void refused(const char *text, int line, const char *word, const char *word2) {
    bd_config c;
    bd_err e = {{0}};
    if (read_ini(&c, text, &e) != -1) fail_msg("accepted: %.80s", text);
    char want[32];
    snprintf(want, sizeof want, "t.ini:%d: ", line);
    if (strncmp(e.msg, want, strlen(want)) != 0) fail_msg("wanted %s..., got: %s", want, e.msg);
    if (word && !strstr(e.msg, word)) fail_msg("no \"%s\" in: %s", word, e.msg);
    if (word2 && !strstr(e.msg, word2)) fail_msg("no \"%s\" in: %s", word2, e.msg);
    assert_null(strchr(e.msg, '\n'));
}

static char *repeat(char ch, size_t n) {
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

/* inih cut lines at 200 bytes and parsed the rest as a new line: a run in a
 * long directory could not be resumed (config.ini's first comment line). */
static void test_long_lines(void **state) {
    (void)state;
    char *dir = repeat('d', 5000), *buf = malloc(20000);
    assert_non_null(buf);
    bd_config c;
    bd_err e = {{0}};
    snprintf(buf, 20000, "# rerun with: bidora train -c runs/%s/config.ini\nlr = 2e-3\ndata = /%s/x.csv\n", dir, dir + 1000);
    if (read_ini(&c, buf, &e)) fail_msg("%s", e.msg);
    assert_float_equal(c.lr, 2e-3, 0);
    assert_int_equal(strlen(c.data), 4007);
    assert_string_equal(c.data + strlen(c.data) - 6, "/x.csv");
    /* a path of PATH_MAX - 1 bytes fits; errors after a long line name the right line */
    snprintf(buf, 20000, "# %s\nmodel = /%s\nbogus = 1\n", dir, dir + 906);
    refused(buf, 3, "unknown key \"bogus\"", NULL);
    free(dir);
    free(buf);
}

/* A value longer than its field is refused naming key and line, never cut. */
static void test_too_long_values(void **state) {
    (void)state;
    char *v = repeat('a', 4096), *buf = malloc(8000);
    assert_non_null(buf);
    bd_config c;
    bd_err e = {{0}};
    snprintf(buf, 8000, "lr = 1e-3\ndata = %s\n", v);
    refused(buf, 2, "data", "4096 bytes");
    snprintf(buf, 8000, "data = %s\n", v + 1); /* 4095: fits */
    assert_int_equal(read_ini(&c, buf, &e), 0);
    assert_int_equal(strlen(c.data), 4095);
    snprintf(buf, 8000, "\n\nrun_name = %s\n", v + 4096 - 256);
    refused(buf, 3, "run_name", "255");
    /* on the command line (bd_config_set) just the same */
    bd_config_defaults(&c);
    assert_int_equal(bd_config_set(&c, "model", v, &e), -1);
    assert_non_null(strstr(e.msg, "model"));
    assert_non_null(strstr(e.msg, "longer than"));
    assert_string_equal(c.model, "models/all-MiniLM-L6-v2"); /* untouched */
    char *big = repeat('1', 5000);
    assert_int_equal(bd_config_set(&c, "lr", big, &e), -1);
    assert_non_null(strstr(e.msg, "lr"));
    free(big);
    free(v);
    free(buf);
}

/* inih read a line that begins with a blank as a continuation of the
 * previous value: "  lr = 1e-3" after model set model to "lr = 1e-3". */
static void test_leading_blanks(void **state) {
    (void)state;
    bd_config c;
    bd_err e = {{0}};
    if (read_ini(&c, "model = m\n  lr = 1e-3\n\t rank = 8\n   # a comment\n  ; another\n \n", &e)) fail_msg("%s", e.msg);
    assert_string_equal(c.model, "m");
    assert_float_equal(c.lr, 1e-3, 0);
    assert_int_equal(c.rank, 8);
    refused("model = m\n  lr = fast\n", 2, "lr = \"fast\"", NULL);
}

static void test_twice(void **state) {
    (void)state;
    refused("lr = 1e-3\nrank = 4\n[more]\nlr = 2e-3\n", 4, "key lr given twice (first on line 1)", NULL);
    refused("# c\n\nrank = 4\n  rank = 4\n", 4, "key rank given twice (first on line 3)", NULL);
}

/* What inih accepted and configs use still reads: comments, sections, BOM,
 * CRLF, spaces around '=', empty values; the rest is refused by line. */
static void test_syntax(void **state) {
    (void)state;
    bd_config c;
    bd_err e = {{0}};
    const char *ok = "\xEF\xBB\xBF; bidora\r\n[train] ; section\r\nmodel=m\r\n  data   =   d.csv   \r\nval_data =\r\n"
                     "split = 0.5, 0.25 ,0.25\r\nrslora = yes\r\n[]\r\nrun_name = r-1 x\r\n";
    if (read_ini(&c, ok, &e)) fail_msg("%s", e.msg);
    assert_string_equal(c.model, "m");
    assert_string_equal(c.data, "d.csv");
    assert_string_equal(c.val_data, "");
    assert_float_equal(c.split[1], 0.25, 0);
    assert_int_equal(c.rslora, 1);
    assert_string_equal(c.run_name, "r-1 x");
    assert_int_equal(read_ini(&c, "", &e), 0);
    refused("lr = 1e-3\njust words\n", 2, "not a key = value line", "just words");
    refused("\n = 3\n", 2, "no key before '='", NULL);
    refused("[train\n", 1, "]", NULL);
    refused("[a] b\n", 1, "]", NULL);
    refused("lr = 1e-3 ; the rate\n", 1, "lr", "expected a number"); /* no inline comments */
    refused("lr = 1\nmodel = a\rb\n", 2, "model", "control character 0x0d");
    /* a NUL byte would cut the line silently */
    static const char nul[] = "lr = 1e-3\ndata = a\0b\n";
    assert_int_equal(read_ini_n(&c, nul, sizeof nul - 1, &e), -1);
    assert_non_null(strstr(e.msg, "t.ini:2: "));
    assert_non_null(strstr(e.msg, "NUL"));
}

/* A refused file changes nothing (the workbench keeps its config). */
static void test_refused_leaves_config(void **state) {
    (void)state;
    bd_config c, before;
    bd_err e = {{0}};
    bd_config_defaults(&c);
    before = c;
    static const char text[] = "lr = 9\nrank = 7\nmodel = x\nbogus = 1\n";
    FILE *f = fmemopen((void *)text, sizeof text - 1, "rb");
    assert_non_null(f);
    assert_int_equal(bd_config_read(&c, f, "t.ini", &e), -1);
    fclose(f);
    assert_memory_equal(&c, &before, sizeof c);
}

/* run_name is one directory under out_dir. */
static void test_run_name(void **state) {
    (void)state;
    const char *bad[] = {"..", ".", "../x", "a/b", "/abs", ".hidden", "a\x01" "b", "x\x7f"};
    bd_config c;
    bd_config_defaults(&c);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bd_err e = {{0}};
        if (bd_config_set(&c, "run_name", bad[i], &e) != -1) fail_msg("run_name \"%s\" accepted", bad[i]);
        assert_non_null(strstr(e.msg, "run_name"));
        assert_null(strchr(e.msg, '\n'));
        assert_string_equal(c.run_name, "");
    }
    bd_err e = {{0}};
    assert_int_equal(bd_config_set(&c, "run_name", "  my run.v2  ", &e), 0);
    assert_string_equal(c.run_name, "my run.v2");
    assert_int_equal(bd_config_set(&c, "run_name", "   ", &e), 0); /* empty: the default name */
    assert_string_equal(c.run_name, "");
    refused("model = m\nrun_name = ..\n", 2, "run_name", NULL);
}

/* Write, read back: the same numbers to the last bit (%.9g lost digits). */
static void test_round_trip(void **state) {
    (void)state;
    bd_config c, back;
    bd_err e = {{0}};
    if (read_ini(&c, "lr = 0.00012345678901234\nsplit = 0.1234567,0.2,0.6765433\nalpha = 1e-300\n"
                     "weight_decay = 0.1\nrun_name = r\n", &e)) fail_msg("%s", e.msg);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    bd_config_write(&c, f);
    fclose(f);
    assert_non_null(strstr(buf, "\nlr = 0.00012345678901234\n"));
    assert_non_null(strstr(buf, "\nweight_decay = 0.1\n")); /* short ones stay short */
    assert_non_null(strstr(buf, "\nsplit = 0.1234567,0.2,0.6765433\n"));
    if (read_ini(&back, buf, &e)) fail_msg("%s", e.msg);
    assert_memory_equal(&back.lr, &c.lr, sizeof c.lr);
    assert_memory_equal(back.split, c.split, sizeof c.split);
    assert_memory_equal(&back.alpha, &c.alpha, sizeof c.alpha);
    free(buf);
}

/* The workbench runs under setlocale(LC_ALL, ""): numbers stay "0.5". */
static void test_locale(void **state) {
    (void)state;
    const char *loc = setlocale(LC_NUMERIC, "de_DE.UTF-8");
    if (!loc) loc = setlocale(LC_NUMERIC, "fr_FR.UTF-8");
    if (!loc) { skip(); return; }
    bd_config c;
    bd_err e = {{0}};
    int rc = read_ini(&c, "lr = 0.5\ndropout = 0.1\n", &e);
    char buf[64];
    bd_config_get(&c, "lr", buf, sizeof buf);
    setlocale(LC_NUMERIC, "C");
    if (rc) fail_msg("%s", e.msg);
    assert_float_equal(c.lr, 0.5, 0);
    assert_string_equal(buf, "0.5");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_too_long_values),
        cmocka_unit_test(test_leading_blanks),
        cmocka_unit_test(test_twice),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_refused_leaves_config),
        cmocka_unit_test(test_run_name),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_locale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
