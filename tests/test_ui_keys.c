/* The key tables and the dispatcher, without a terminal: every binding is
 * complete and no key is bound twice in a table; the bar shows the
 * F-keys; handlers return the flags the loop acts on (help and back, quit
 * at once when idle, ask first with a run active, y stops it); the set-up
 * form's edit mode validates as you type and Esc cancels; F-keys reach the
 * global table from inside an edit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

static void check_table(const bd_binding *t) {
    for (const bd_binding *b = t; b->fn; b++) {
        assert_non_null(b->keyname);
        assert_non_null(b->help);
        assert_true(b->keys[0] != 0);
        for (int i = 0; i < 4 && b->keys[i]; i++)
            for (const bd_binding *c = t; c <= b; c++)
                for (int j = 0; j < 4 && c->keys[j]; j++)
                    if (c != b || j != i) assert_false(c->keys[j] == b->keys[i]);
    }
}

static void test_tables(void **state) {
    (void)state;
    check_table(bd_keys_global);
    check_table(bd_keys_run);
    check_table(bd_keys_setup);
    check_table(bd_keys_runs);
    const char *want[] = {"F1", "F2", "F3", "F5", "F8", "F10"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int found = 0;
        for (const bd_binding *b = bd_keys_global; b->fn; b++)
            found |= b->bar && !strncmp(b->keyname, want[i], strlen(want[i])) &&
                     (b->keyname[strlen(want[i])] == ' ' || !b->keyname[strlen(want[i])]);
        assert_true(found);
    }
    char name[16];
    bd_key_name(BD_FN(KEY_F(5)), name, sizeof name);
    assert_string_equal(name, "F5");
    bd_key_name(' ', name, sizeof name);
    assert_string_equal(name, "Space");
}

static bd_app *new_app(void) {
    bd_app *a = calloc(1, sizeof *a);
    a->live = calloc(1, sizeof *a->live);
    a->ch = calloc(1, sizeof *a->ch);
    bd_channel_init(a->ch);
    bd_live_init(a->live);
    bd_config_defaults(&a->cfg);
    bd_config_set(&a->cfg, "model", "tests/ref/tiny_bert", NULL);
    bd_config_set(&a->cfg, "data", "tests/ref/tiny.csv", NULL);
    bd_config_set(&a->cfg, "out_dir", "/nonexistent-bidora-runs", NULL);
    a->view = a->back = BD_VIEW_SETUP;
    return a;
}

static void free_app(bd_app *a) {
    bd_live_free(a->live);
    bd_channel_destroy(a->ch);
    bd_browser_free(&a->br);
    bd_runs_free(&a->runs);
    free(a->live);
    free(a->ch);
    free(a);
}

static void test_views_and_quit(void **state) {
    (void)state;
    bd_app *a = new_app();
    assert_true(bd_dispatch(a, '?') & BD_KEY_REDRAW);
    assert_int_equal(a->view, BD_VIEW_HELP);
    bd_dispatch(a, BD_ESC);
    assert_int_equal(a->view, BD_VIEW_SETUP);
    bd_dispatch(a, BD_FN(KEY_F(3)));
    assert_int_equal(a->view, BD_VIEW_RUNS);
    assert_true(a->msg_error); /* no out_dir yet: said, not fatal */
    bd_dispatch(a, 'v');
    assert_int_equal(a->view, BD_VIEW_RUN);
    bd_dispatch(a, BD_TAB);
    assert_int_equal(a->focus, BD_P_EVAL);
    bd_dispatch(a, 'l');
    assert_true(a->logy[BD_P_EVAL]);
    bd_smooth_default(a);
    assert_true(a->ema == 0.6); /* TensorBoard's default */
    bd_dispatch(a, '+');
    bd_dispatch(a, '+');
    assert_true(a->ema > 0.85);
    bd_dispatch(a, '-');
    assert_true(a->ema > 0.7 && a->ema < 0.85);
    bd_dispatch(a, ' '); /* no run: an error line, nothing paused */
    assert_true(a->msg_error);
    assert_false(a->paused);
    assert_true(bd_dispatch(a, 'q') & BD_KEY_QUIT); /* idle: quits at once */
    a->run_active = 1;                            /* as if a run were going */
    int fl = bd_dispatch(a, BD_FN(KEY_F(10)));
    assert_false(fl & BD_KEY_QUIT);
    assert_true(a->confirm_quit);
    bd_dispatch(a, 'n');
    assert_false(a->confirm_quit);
    assert_false(a->stopping);
    bd_dispatch(a, 'q');
    bd_dispatch(a, 'y');
    assert_true(a->stopping);
    assert_true(a->quit_after_stop);
    assert_true(a->ch->cmd_stop); /* the trainer will checkpoint and stop */
    a->run_active = 0;
    a->confirm_quit = 1; /* the run ended while the question was up */
    assert_true(bd_dispatch(a, 'y') & BD_KEY_QUIT);
    free_app(a);
}

static void test_setup_edit(void **state) {
    (void)state;
    bd_app *a = new_app();
    int rank = -1;
    for (int i = 0; i < bd_config_n_keys(); i++) {
        bd_config_key_info k;
        bd_config_key(i, &k);
        if (!strcmp(k.name, "rank")) rank = i;
    }
    for (int i = 0; i < 100 && a->form_sel != rank; i++) bd_dispatch(a, 'j'); /* the form's order: by group */
    assert_int_equal(a->form_sel, rank);
    bd_dispatch(a, BD_ENTER);
    assert_int_equal(a->sm, BD_SM_EDIT);
    assert_string_equal(a->edit.buf, "4");
    bd_dispatch(a, 'x');
    assert_non_null(strstr(a->edit_err, "rank"));
    bd_dispatch(a, BD_ENTER); /* invalid: stays in the edit */
    assert_int_equal(a->sm, BD_SM_EDIT);
    assert_int_equal(a->cfg.rank, 4);
    bd_dispatch(a, BD_BACKSPACE);
    bd_dispatch(a, BD_BACKSPACE);
    bd_dispatch(a, '1');
    bd_dispatch(a, '6');
    assert_string_equal(a->edit_err, "");
    bd_dispatch(a, 'q'); /* a letter in an edit is text, not quit */
    assert_false(a->quit);
    bd_dispatch(a, BD_BACKSPACE);
    bd_dispatch(a, BD_ENTER);
    assert_int_equal(a->sm, BD_SM_FORM);
    assert_int_equal(a->cfg.rank, 16);
    bd_dispatch(a, BD_ENTER);
    bd_dispatch(a, '9');
    bd_dispatch(a, BD_ESC); /* cancel */
    assert_int_equal(a->cfg.rank, 16);
    bd_dispatch(a, BD_ENTER);
    assert_true(bd_dispatch(a, BD_FN(KEY_F(1))) & BD_KEY_REDRAW); /* F-keys pass an edit */
    assert_int_equal(a->view, BD_VIEW_HELP);
    free_app(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_views_and_quit),
        cmocka_unit_test(test_setup_edit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
