/* test_json.c: bd_json_loadb / bd_json_load_file read every valid JSON
 * number: integers beyond 64 bits (Python writes them, e.g. transformers'
 * "model_max_length": int(1e30)) become reals, integers that fit stay
 * integers, strings are untouched, and error positions refer to the
 * original text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"

static json_t *parse(const char *text) {
    json_error_t je;
    json_t *root = bd_json_loadb(text, strlen(text), 0, &je);
    if (!root) fail_msg("%s: %s (line %d, column %d)", text, je.text, je.line, je.column);
    return root;
}

static void test_big_integers_are_reals(void **state) {
    (void)state;
    json_t *r = parse("{\"model_max_length\": 1000000000000000019884624838656, \"vocab_size\": 30522,"
                      " \"max\": 9223372036854775807, \"min\": -9223372036854775808,"
                      " \"over\": 9223372036854775808, \"under\": -9223372036854775809,"
                      " \"list\": [1, 99999999999999999999, 2], \"real\": 1e30, \"frac\": 12345678901234567890.5}");
    json_t *v = json_object_get(r, "model_max_length");
    assert_true(json_is_real(v));
    assert_true(json_real_value(v) == 1e30);
    assert_true(json_is_integer(json_object_get(r, "vocab_size")));
    assert_int_equal(json_integer_value(json_object_get(r, "vocab_size")), 30522);
    assert_true(json_is_integer(json_object_get(r, "max")));
    assert_true(json_integer_value(json_object_get(r, "max")) == INT64_MAX);
    assert_true(json_is_integer(json_object_get(r, "min")));
    assert_true(json_integer_value(json_object_get(r, "min")) == INT64_MIN);
    assert_true(json_is_real(json_object_get(r, "over")));
    assert_true(json_real_value(json_object_get(r, "over")) == 9223372036854775808.0);
    assert_true(json_is_real(json_object_get(r, "under")));
    assert_true(json_real_value(json_object_get(r, "under")) == -9223372036854775809.0);
    json_t *l = json_object_get(r, "list");
    assert_true(json_is_integer(json_array_get(l, 0)) && json_is_integer(json_array_get(l, 2)));
    assert_true(json_is_real(json_array_get(l, 1)) && json_real_value(json_array_get(l, 1)) == 1e20);
    assert_true(json_is_real(json_object_get(r, "real")));
    assert_true(json_real_value(json_object_get(r, "frac")) == 12345678901234567890.5);
    /* re-written, fitting integers stay integers (the trainer re-writes config.json) */
    char *out = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(strstr(out, "\"vocab_size\":30522}"));
    assert_non_null(strstr(out, "\"max\":9223372036854775807,"));
    free(out);
    json_decref(r);
    /* a bare number and a buffer without a terminating NUL */
    json_error_t je;
    const char buf[] = "[123456789012345678901234567890]xyz";
    r = bd_json_loadb(buf, 32, 0, &je);
    if (!r) fail_msg("%s", je.text);
    assert_true(json_real_value(json_array_get(r, 0)) == 123456789012345678901234567890.0);
    json_decref(r);
}

static void test_strings_untouched(void **state) {
    (void)state;
    json_t *r = parse("{\"s\": \"99999999999999999999\", \"e\": \"a\\\" 99999999999999999999 \\\\\","
                      " \"99999999999999999999\": 5}");
    assert_string_equal(json_string_value(json_object_get(r, "s")), "99999999999999999999");
    assert_string_equal(json_string_value(json_object_get(r, "e")), "a\" 99999999999999999999 \\");
    assert_int_equal(json_integer_value(json_object_get(r, "99999999999999999999")), 5);
    json_decref(r);
}

/* Errors still come, at the original text's line, column and position. */
static void test_errors_in_original_terms(void **state) {
    (void)state;
    json_error_t want, got;
    /* same length, a real in place of the big integer: jansson's own position */
    const char *ref = "{\"a\": 9999999999999999999e1, \"b\": x}";
    const char *big = "{\"a\": 999999999999999999999, \"b\": x}";
    assert_null(json_loadb(ref, strlen(ref), 0, &want));
    assert_null(bd_json_loadb(big, strlen(big), 0, &got));
    assert_int_equal(got.line, want.line);
    assert_int_equal(got.column, want.column);
    assert_int_equal(got.position, want.position);
    /* on a later line the column is untouched */
    const char *ref2 = "{\"a\": 9999999999999999999e1,\n \"b\": ]}";
    const char *big2 = "{\"a\": 999999999999999999999,\n \"b\": ]}";
    assert_null(json_loadb(ref2, strlen(ref2), 0, &want));
    assert_null(bd_json_loadb(big2, strlen(big2), 0, &got));
    assert_int_equal(got.line, 2);
    assert_int_equal(got.column, want.column);
    assert_int_equal(got.position, want.position);
    /* invalid stays invalid: leading zeros, a lone minus, an integer beyond any double */
    assert_null(bd_json_loadb("[00000000000000000000001]", 25, 0, &got));
    assert_null(bd_json_loadb("[-]", 3, 0, &got));
    char huge[420] = "[";
    memset(huge + 1, '9', 400);
    strcpy(huge + 401, "]");
    assert_null(bd_json_loadb(huge, strlen(huge), 0, &got));
    assert_non_null(strstr(got.text, "overflow"));
    assert_int_equal(got.position, 401);
    /* flags pass through */
    assert_null(bd_json_loadb("{\"a\": 1, \"a\": 99999999999999999999}", 35, JSON_REJECT_DUPLICATES, &got));
    assert_non_null(strstr(got.text, "duplicate"));
    /* err may be NULL */
    assert_null(bd_json_loadb("[99999999999999999999", 21, 0, NULL));
}

/* Messages quote file text on one line (found by fuzz/fuzz_vocab.c). */
static void test_printable(void **state) {
    (void)state;
    char buf[16];
    assert_string_equal(bd_printable(buf, sizeof buf, "plain"), "plain");
    assert_string_equal(bd_printable(buf, sizeof buf, "a\nb\tc\rd\x01"), "a\\nb\\tc\\rd\\x01");
    assert_string_equal(bd_printable(buf, sizeof buf, "0123456789abcdefghij"), "0123456789ab...");
    assert_string_equal(bd_printable(buf, sizeof buf, "0123456789abcde"), "0123456789abcde");
    /* never cut inside a UTF-8 sequence: 11 ASCII, a 3-byte character, 2 ASCII do not fit */
    assert_string_equal(bd_printable(buf, sizeof buf, "0123456789a\xe4\xb8\xadzz"), "0123456789a...");
    assert_string_equal(bd_printable(buf, 4, "abcdef"), "...");
    assert_string_equal(bd_printable(buf, 3, "abcdef"), "");
    /* jansson's error text quotes what it saw, newlines included: not any more */
    json_error_t je;
    const char *bad = "{\"a\": \"x\n\ny";
    assert_null(bd_json_loadb(bad, strlen(bad), 0, &je));
    assert_null(strchr(je.text, '\n'));
    const char *bad2 = "{\"a\": 99999999999999999999, \"b\": \"\n";
    assert_null(bd_json_loadb(bad2, strlen(bad2), 0, &je));
    assert_null(strchr(je.text, '\n'));
}

static void test_load_file(void **state) {
    (void)state;
    bd_err e = {{0}};
    assert_null(bd_json_load_file("/nonexistent/x.json", 0, &e));
    assert_non_null(strstr(e.msg, "/nonexistent/x.json: cannot open"));
    char path[] = "/tmp/bd_json_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *bad = "{\n  \"n\": 100000000000000000000,\n  \"x\": tru\n}";
    assert_int_equal(write(fd, bad, strlen(bad)), (int)strlen(bad));
    close(fd);
    assert_null(bd_json_load_file(path, 0, &e));
    char want[64];
    snprintf(want, sizeof want, "%s:3:", path);
    if (strncmp(e.msg, want, strlen(want)) || !strstr(e.msg, "invalid JSON")) fail_msg("%s", e.msg);
    assert_null(strchr(e.msg, '\n'));
    /* transformers' tokenizer_config.json for a tokenizer without a length limit */
    json_t *r = bd_json_load_file("tests/ref/tokenizer_nolimit/tokenizer_config.json", 0, &e);
    if (!r) fail_msg("%s", e.msg);
    assert_true(json_real_value(json_object_get(r, "model_max_length")) == 1e30);
    assert_true(json_is_true(json_object_get(r, "do_lower_case")));
    json_decref(r);
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_big_integers_are_reals),
        cmocka_unit_test(test_strings_untouched),
        cmocka_unit_test(test_errors_in_original_terms),
        cmocka_unit_test(test_printable),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
