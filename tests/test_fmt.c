/* test_fmt.c: the shared text formats (src/io/fmt.c): plurals, rates as
 * steps/s or s/step, the edit distance and the closest-key suggestion, and
 * the config's "did you mean" for a misspelt key, in a file and as key=value. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "fmt.h"

static void test_plural(void **state) {
    (void)state;
    assert_string_equal(bd_plural(1, "run", "runs"), "run");
    assert_string_equal(bd_plural(0, "run", "runs"), "runs");
    assert_string_equal(bd_plural(2, "run", "runs"), "runs");
    assert_string_equal(bd_plural(-1, "step", "steps"), "step");
    assert_string_equal(bd_plural(11, "series", "series"), "series");
}

static void test_rate(void **state) {
    (void)state;
    char b[32];
    assert_string_equal(bd_fmt_rate(b, sizeof b, 12.345), "12.35 steps/s");
    assert_string_equal(bd_fmt_rate(b, sizeof b, 1.0), "1.00 steps/s");
    assert_string_equal(bd_fmt_rate(b, sizeof b, 1 / 3.2), "3.2 s/step");
    assert_string_equal(bd_fmt_rate(b, sizeof b, 0.5), "2.0 s/step");
    assert_string_equal(bd_fmt_rate(b, sizeof b, 0.999), "1.0 s/step");
    assert_string_equal(bd_fmt_rate(b, sizeof b, 0.001), "1000.0 s/step");
    assert_string_equal(bd_fmt_rate(b, sizeof b, 0), "-");
    assert_string_equal(bd_fmt_rate(b, sizeof b, -1), "-");
    assert_string_equal(bd_fmt_rate(b, sizeof b, NAN), "-");
    assert_string_equal(bd_fmt_rate(b, sizeof b, INFINITY), "-");
}

static void test_edit_distance(void **state) {
    (void)state;
    assert_int_equal(bd_edit_distance("rank", "rank", 3), 0);
    assert_int_equal(bd_edit_distance("RANK", "rank", 3), 0);       /* case folded */
    assert_int_equal(bd_edit_distance("rnak", "rank", 3), 1);       /* a transposition is one edit */
    assert_int_equal(bd_edit_distance("rak", "rank", 3), 1);
    assert_int_equal(bd_edit_distance("ranks", "rank", 3), 1);
    assert_int_equal(bd_edit_distance("kitten", "sitting", 5), 3);
    assert_int_equal(bd_edit_distance("", "abc", 5), 3);
    assert_int_equal(bd_edit_distance("abcdefgh", "z", 2), 3);      /* capped at limit + 1 */
    assert_int_equal(bd_edit_distance("lerning_rate", "learning_rate", 3), 1);
}

static void test_closest(void **state) {
    (void)state;
    const char *const c[] = {"model", "data", "lr", "rank", "batch_size", "max_length"};
    assert_string_equal(bd_closest("modle", c, 6), "model");
    assert_string_equal(bd_closest("batchsize", c, 6), "batch_size");
    assert_string_equal(bd_closest("max_lenght", c, 6), "max_length");
    assert_string_equal(bd_closest("Rank", c, 6), "rank");
    assert_null(bd_closest("colour", c, 6));   /* nothing close */
    assert_null(bd_closest("x", c, 6));        /* "lr" is 2 away; a 1-letter word may be 1 away only */
    assert_null(bd_closest("zz", c, 6));       /* "lr" would need 2 edits: all of it */
}

static void test_config_suggests(void **state) {
    (void)state;
    bd_config c;
    bd_config_defaults(&c);
    bd_err e = {{0}};
    assert_int_equal(bd_config_set(&c, "lerning_rate", "1e-3", &e), -1);
    assert_string_equal(e.msg, "unknown key \"lerning_rate\" (did you mean \"lr\"?)");
    assert_int_equal(bd_config_set(&c, "learning_rate", "1e-3", &e), -1); /* an alias is never a key */
    assert_string_equal(e.msg, "unknown key \"learning_rate\" (did you mean \"lr\"?)");
    assert_int_equal(bd_config_set(&c, "max_stpes", "3", &e), -1);
    assert_string_equal(e.msg, "unknown key \"max_stpes\" (did you mean \"max_steps\"?)");
    assert_int_equal(bd_config_set(&c, "lora_alpa", "3", &e), -1);
    assert_string_equal(e.msg, "unknown key \"lora_alpa\" (did you mean \"alpha\"?)");
    /* nothing close: the whole list, as before */
    assert_int_equal(bd_config_set(&c, "colour", "red", &e), -1);
    assert_non_null(strstr(e.msg, "unknown key \"colour\" (keys: model, data,"));
    assert_null(strstr(e.msg, "did you mean"));
    /* in a file: FILE:LINE first, one line */
    static const char ini[] = "lr = 1e-3\n# a comment\nbatch_szie = 8\n";
    FILE *f = fmemopen((void *)ini, sizeof ini - 1, "rb");
    assert_non_null(f);
    bd_config_defaults(&c);
    assert_int_equal(bd_config_read(&c, f, "t.ini", &e), -1);
    fclose(f);
    assert_string_equal(e.msg, "t.ini:3: unknown key \"batch_szie\" (did you mean \"batch_size\"?)");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plural),
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_closest),
        cmocka_unit_test(test_config_suggests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
