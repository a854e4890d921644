/* The runs browser's comparison table, filter, rename and delete, without
 * a terminal: the eval-minus-train gap over the last eval window, the
 * metric columns (best@step, final, steps/s, wall), the config keys that
 * differ (read from each run's config.ini; a bad one is a marked row, not a
 * column), sorting (numbers as numbers, unknown last either way), the
 * filter's words, and the refusals that keep rename and delete from losing
 * another run's data (a live run, an existing name, '/', not a run
 * directory, symbolic links). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compare.h"
#include "config.h"
#include "runlock.h"
#include "runs.h"
#include "runs_edit.h"
#include "series.h"

static char tmpdir[256];

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

static int setup(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bd_ui_compare_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* out_dir/name with a metrics.csv and a config.ini of the given text (NULL: none) */
static void make_run(const char *out, const char *name, const char *metrics, const char *config) {
    char p[600];
    mkdir(out, 0755);
    snprintf(p, sizeof p, "%s/%s", out, name);
    assert_int_equal(mkdir(p, 0755), 0);
    if (metrics) { snprintf(p, sizeof p, "%s/%s/metrics.csv", out, name); write_file(p, metrics); }
    if (config) { snprintf(p, sizeof p, "%s/%s/config.ini", out, name); write_file(p, config); }
}

static int key_index(const char *name) {
    for (int i = 0; i < bd_config_n_keys(); i++) {
        bd_config_key_info k;
        bd_config_key(i, &k);
        if (!strcmp(k.name, name)) return i;
    }
    return -1;
}

static void test_gap(void **state) {
    (void)state;
    bd_run_data d;
    bd_run_data_init(&d);
    assert_true(isnan(bd_cmp_gap(&d))); /* nothing yet */
    for (int s = 1; s <= 10; s++) bd_run_data_add(&d, "train/loss", s, (double)s); /* 1, 2, ..., 10 */
    assert_true(isnan(bd_cmp_gap(&d))); /* no eval loss */
    bd_run_data_add(&d, "eval/loss", 4, 3.0);
    /* one eval: the window is steps 1..4, mean 2.5 */
    assert_float_equal(bd_cmp_gap(&d), 3.0 - 2.5, 1e-12);
    bd_run_data_add(&d, "eval/loss", 10, 9.0);
    /* the last window (4, 10]: train 5..10, mean 7.5; the final eval loss 9 */
    assert_float_equal(bd_cmp_gap(&d), 9.0 - 7.5, 1e-12);
    bd_run_data_free(&d);
    /* an eval step with no train rows in its window: unknown, not 0 */
    bd_run_data_init(&d);
    bd_run_data_add(&d, "train/loss", 1, 1.0);
    bd_run_data_add(&d, "eval/loss", 1, 1.0);
    bd_run_data_add(&d, "eval/loss", 5, 2.0);
    assert_true(isnan(bd_cmp_gap(&d)));
    bd_run_data_free(&d);
}

static void test_row_metrics(void **state) {
    (void)state;
    bd_run_data d;
    bd_run_data_init(&d);
    bd_run_data_add(&d, "eval/accuracy", 5, 0.7);
    bd_run_data_add(&d, "eval/accuracy", 10, 0.9);
    bd_run_data_add(&d, "eval/accuracy", 15, 0.8);
    bd_cmp_table t = {0};
    t.rows = calloc(1, sizeof *t.rows);
    t.n = 1;
    snprintf(t.rows[0].name, sizeof t.rows[0].name, "r");
    bd_cmp_row_metrics(&t.rows[0], &d, 7.5, 15);
    bd_cmp_row *r = &t.rows[0];
    assert_string_equal(r->metric, "eval/accuracy");
    assert_true(r->has_best && r->has_final);
    assert_int_equal(r->best_step, 10);
    assert_float_equal(r->best, 0.9, 0);
    assert_int_equal(r->final_step, 15);
    assert_float_equal(r->final, 0.8, 0);
    assert_float_equal(r->sps, 2.0, 1e-12);
    assert_float_equal(r->wall, 7.5, 0);
    assert_true(isnan(r->gap));
    bd_cmp_build_cols(&t); /* one row with no config: no differing keys */
    assert_int_equal(t.ncols, 6);
    char cell[64];
    const char *want[6] = {"r", "0.9000@10", "0.8000", "-", "2.0", "7.5s"};
    for (int c = 0; c < 6; c++) {
        bd_cmp_cell(&t, 0, c, cell, sizeof cell);
        assert_string_equal(cell, want[c]);
    }
    /* no evals, no wall time: unknown, shown as "-" */
    bd_run_data_free(&d);
    bd_run_data_init(&d);
    bd_cmp_row_metrics(r, &d, NAN, 0);
    assert_false(r->has_best);
    assert_true(isnan(r->sps) && isnan(r->wall));
    for (int c = 1; c < 6; c++) {
        bd_cmp_cell(&t, 0, c, cell, sizeof cell);
        assert_string_equal(cell, "-");
    }
    bd_cmp_fmt_wall(cell, sizeof cell, 187);
    assert_string_equal(cell, "3m07s");
    bd_cmp_fmt_wall(cell, sizeof cell, 7500);
    assert_string_equal(cell, "2h05m");
    bd_run_data_free(&d);
    bd_cmp_free(&t);
}

/* Three runs' config.ini: lr and method differ, the rest does not; a fourth
 * run's config.ini is bad and adds no column. */
static void test_differing_and_sort(void **state) {
    (void)state;
    char out[400], p[600];
    snprintf(out, sizeof out, "%s/cmp", tmpdir);
    make_run(out, "a", NULL, "method = bidora\nlr = 1e-2\nrank = 16\nrun_name = a\n");
    make_run(out, "b", NULL, "method = lora\nlr = 0.005\nrank = 4\nrun_name = b\n");
    make_run(out, "c", NULL, "method = bidora\nlr = 0.02\nrank = 8\nrun_name = c\n");
    make_run(out, "bad", NULL, "lr = fast\n");
    const char *names[4] = {"a", "b", "c", "bad"};
    bd_cmp_table t = {0};
    t.rows = calloc(4, sizeof *t.rows);
    t.n = 4;
    for (int i = 0; i < 4; i++) {
        snprintf(t.rows[i].name, sizeof t.rows[i].name, "%s", names[i]);
        snprintf(p, sizeof p, "%s/%s", out, names[i]);
        assert_int_equal(bd_cmp_row_config(&t.rows[i], p), i < 3 ? 0 : -1);
        t.rows[i].gap = t.rows[i].sps = t.rows[i].wall = NAN;
    }
    assert_null(t.rows[3].vals);
    assert_non_null(strstr(t.rows[3].err, "config.ini"));
    assert_non_null(strstr(t.rows[3].err, "lr"));
    int keys[16];
    int n = bd_cmp_differing(t.rows, 4, keys, 16);
    /* method and lr, plus what follows lr in the resolved config (upper_lr, retrain_lr default to it);
     * never run_name (the row's name already) */
    int k_method = key_index("method"), k_lr = key_index("lr"), k_name = key_index("run_name");
    int saw_method = 0, saw_lr = 0;
    for (int i = 0; i < n; i++) {
        assert_int_not_equal(keys[i], k_name);
        saw_method |= keys[i] == k_method;
        saw_lr |= keys[i] == k_lr;
        bd_config_key_info ki;
        bd_config_key(keys[i], &ki);
        assert_true(!strcmp(ki.name, "method") || !strcmp(ki.name, "rank") || strstr(ki.name, "lr")); /* nothing that is the same */
        if (i) assert_true(keys[i] > keys[i - 1]); /* key-table order */
    }
    assert_true(saw_method && saw_lr);
    assert_int_equal(bd_cmp_differing(t.rows, 1, keys, 16), 0); /* one run: nothing to compare */
    assert_int_equal(bd_cmp_differing(&t.rows[2], 2, keys, 16), 0); /* c and the bad one: one config only */
    bd_cmp_build_cols(&t);
    assert_int_equal(t.ncols, 1 + n + 5);
    int c_lr = -1, c_method = -1, c_rank = -1;
    for (int c = 0; c < t.ncols; c++) {
        if (t.cols[c].kind == BD_CMP_KEY && t.cols[c].key == key_index("rank")) c_rank = c;
        if (t.cols[c].kind == BD_CMP_KEY && t.cols[c].key == k_lr) c_lr = c;
        if (t.cols[c].kind == BD_CMP_KEY && t.cols[c].key == k_method) c_method = c;
    }
    assert_true(c_lr > 0 && c_method > 0);
    assert_string_equal(t.cols[c_lr].title, "lr");
    char cell[64];
    /* the bad run's key cells say "?" */
    for (int i = 0; i < 4; i++)
        if (!strcmp(t.rows[i].name, "bad")) { bd_cmp_cell(&t, i, c_lr, cell, sizeof cell); assert_string_equal(cell, "?"); }
    /* by rank, as numbers: 4 < 8 < 16 (as text "16" would come first) */
    assert_true(c_rank > 0);
    t.sort_col = c_rank;
    bd_cmp_sort(&t);
    const char *by_rank[4] = {"b", "c", "a", "bad"};
    for (int i = 0; i < 4; i++) assert_string_equal(t.rows[i].name, by_rank[i]);
    /* by lr: 0.005 < 0.01 < 0.02 */
    t.sort_col = c_lr;
    t.sort_desc = 0;
    bd_cmp_sort(&t);
    const char *asc[4] = {"b", "a", "c", "bad"}, *desc[4] = {"c", "a", "b", "bad"};
    for (int i = 0; i < 4; i++) assert_string_equal(t.rows[i].name, asc[i]);
    t.sort_desc = 1;
    bd_cmp_sort(&t);
    for (int i = 0; i < 4; i++) assert_string_equal(t.rows[i].name, desc[i]); /* the unknown stays last */
    /* by method (text), ties by name */
    t.sort_col = c_method;
    t.sort_desc = 0;
    bd_cmp_sort(&t);
    const char *by_method[4] = {"a", "c", "b", "bad"};
    for (int i = 0; i < 4; i++) assert_string_equal(t.rows[i].name, by_method[i]);
    /* by name, descending */
    t.sort_col = 0;
    t.sort_desc = 1;
    bd_cmp_sort(&t);
    const char *by_name[4] = {"c", "bad", "b", "a"};
    for (int i = 0; i < 4; i++) assert_string_equal(t.rows[i].name, by_name[i]);
    /* a metric column: gap, with one unknown */
    for (int i = 0; i < 4; i++) {
        if (!strcmp(t.rows[i].name, "a")) t.rows[i].gap = 0.3;
        if (!strcmp(t.rows[i].name, "b")) t.rows[i].gap = -0.1;
        if (!strcmp(t.rows[i].name, "c")) t.rows[i].gap = 0.05;
        if (!strcmp(t.rows[i].name, "bad")) t.rows[i].gap = NAN;
    }
    for (int c = 0; c < t.ncols; c++)
        if (t.cols[c].kind == BD_CMP_GAP) t.sort_col = c;
    t.sort_desc = 0;
    bd_cmp_sort(&t);
    const char *by_gap[4] = {"b", "c", "a", "bad"};
    for (int i = 0; i < 4; i++) assert_string_equal(t.rows[i].name, by_gap[i]);
    bd_cmp_cell(&t, 0, t.sort_col, cell, sizeof cell);
    assert_string_equal(cell, "-0.1000");
    bd_cmp_free(&t);
}

static void test_filter(void **state) {
    (void)state;
    bd_run_info r;
    memset(&r, 0, sizeof r);
    snprintf(r.name, sizeof r.name, "Sweep-LR3");
    snprintf(r.method, sizeof r.method, "bidora");
    assert_true(bd_run_matches(&r, ""));
    assert_true(bd_run_matches(&r, "   "));
    assert_true(bd_run_matches(&r, "sweep"));  /* part of the name, any case */
    assert_true(bd_run_matches(&r, "lr3"));
    assert_true(bd_run_matches(&r, "bi"));     /* the method's start */
    assert_true(bd_run_matches(&r, "BIDORA"));
    assert_false(bd_run_matches(&r, "dora"));  /* not the method's start, not in the name */
    assert_false(bd_run_matches(&r, "lora"));
    assert_true(bd_run_matches(&r, "bidora sweep")); /* every word */
    assert_false(bd_run_matches(&r, "bidora other"));
    snprintf(r.method, sizeof r.method, "dora");
    assert_true(bd_run_matches(&r, "dora"));
    snprintf(r.name, sizeof r.name, "bidora-2");
    snprintf(r.method, sizeof r.method, "lora");
    assert_true(bd_run_matches(&r, "dora")); /* in the name */
}

static void test_name_check(void **state) {
    (void)state;
    bd_err e = {{0}};
    assert_int_equal(bd_run_name_check("ok-name_1", &e), 0);
    assert_int_equal(bd_run_name_check("", &e), -1);
    assert_int_equal(bd_run_name_check("a/b", &e), -1);
    assert_non_null(strstr(e.msg, "'/'"));
    assert_int_equal(bd_run_name_check("..", &e), -1);
    assert_int_equal(bd_run_name_check(".hidden", &e), -1);
    assert_int_equal(bd_run_name_check("tab\there", &e), -1);
    char longname[300];
    memset(longname, 'x', 299);
    longname[299] = '\0';
    assert_int_equal(bd_run_name_check(longname, &e), -1);
}

static void test_rename(void **state) {
    (void)state;
    char out[400], p[700], q[700];
    bd_err e = {{0}};
    snprintf(out, sizeof out, "%s/ren", tmpdir);
    const char *csv = "wall_time,step,phase,name,value\n0.5,1,train,train/loss,1\n";
    make_run(out, "one", csv, "method = lora\n");
    make_run(out, "two", csv, NULL);
    make_run(out, "plain", NULL, NULL); /* not a run: neither file */
    snprintf(p, sizeof p, "%s/plain/keep.txt", out);
    write_file(p, "mine");
    /* refused: bad names, an existing run, not a run, a missing run */
    assert_int_equal(bd_run_rename(out, "one", "a/b", &e), -1);
    assert_int_equal(bd_run_rename(out, "one", "../escape", &e), -1);
    assert_int_equal(bd_run_rename(out, "one", ".x", &e), -1);
    assert_int_equal(bd_run_rename(out, "one", "two", &e), -1);
    assert_non_null(strstr(e.msg, "exists"));
    assert_int_equal(bd_run_rename(out, "one", "one", &e), -1);
    assert_int_equal(bd_run_rename(out, "plain", "plain2", &e), -1);
    assert_non_null(strstr(e.msg, "not a bidora run"));
    assert_int_equal(bd_run_rename(out, "nope", "nope2", &e), -1);
    /* an empty directory of the new name is not replaced (rename(2) would) */
    snprintf(p, sizeof p, "%s/empty", out);
    mkdir(p, 0755);
    assert_int_equal(bd_run_rename(out, "one", "empty", &e), -1);
    snprintf(p, sizeof p, "%s/one/metrics.csv", out);
    assert_true(exists(p));
    /* a live run (its lock held, here by this process) is refused */
    bd_runlock l;
    snprintf(p, sizeof p, "%s/one", out);
    assert_int_equal(bd_runlock_take(&l, p, &e), 0);
    assert_int_equal(bd_run_rename(out, "one", "one-b", &e), -1);
    assert_non_null(strstr(e.msg, "running"));
    snprintf(q, sizeof q, "%s/one-b", out);
    assert_false(exists(q));
    bd_runlock_release(&l);
    /* then it is renamed, with its files */
    assert_int_equal(bd_run_rename(out, "one", "one-b", &e), 0);
    assert_false(exists(p));
    snprintf(q, sizeof q, "%s/one-b/config.ini", out);
    assert_true(exists(q));
    snprintf(q, sizeof q, "%s/one-b/metrics.csv", out);
    assert_true(exists(q));
    snprintf(q, sizeof q, "%s/two/metrics.csv", out);
    assert_true(exists(q));
    snprintf(q, sizeof q, "%s/plain/keep.txt", out);
    assert_true(exists(q));
    /* the list follows it: name, dir, followers; sorted again */
    bd_runs rs = {0};
    assert_int_equal(bd_runs_scan(&rs, out, &e), 0);
    assert_int_equal(rs.n, 2);
    assert_string_equal(rs.r[0].name, "one-b");
    assert_int_equal(bd_run_rename(out, "one-b", "zeta", &e), 0);
    int i = bd_runs_renamed(&rs, 0, "zeta");
    assert_int_equal(i, 1);
    assert_string_equal(rs.r[1].name, "zeta");
    snprintf(q, sizeof q, "%s/zeta", out);
    assert_string_equal(rs.r[1].dir, q);
    snprintf(q, sizeof q, "%s/zeta/metrics.csv", out);
    assert_string_equal(rs.r[1].mf.path, q);
    assert_string_equal(rs.r[1].wall_mf.path, q);
    assert_int_equal(rs.r[1].steps, 1);
    assert_float_equal(rs.r[1].wall_s, 0.5, 0);
    bd_runs_remove(&rs, 0);
    assert_int_equal(rs.n, 1);
    assert_string_equal(rs.r[0].name, "zeta");
    bd_runs_free(&rs);
}

static void test_delete(void **state) {
    (void)state;
    char out[400], p[700], q[700];
    bd_err e = {{0}};
    snprintf(out, sizeof out, "%s/del", tmpdir);
    const char *csv = "wall_time,step,phase,name,value\n1,1,train,train/loss,1\n";
    make_run(out, "victim", csv, "method = lora\n");
    make_run(out, "other", csv, "method = lora\n");
    make_run(out, "plain", NULL, NULL);
    snprintf(p, sizeof p, "%s/plain/keep.txt", out);
    write_file(p, "mine");
    /* nested folders, and a link to another run inside: the link goes, not what it points to */
    snprintf(p, sizeof p, "%s/victim/checkpoint", out);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/victim/checkpoint/state.bin", out);
    write_file(p, "x");
    snprintf(p, sizeof p, "%s/victim/link-to-other", out);
    snprintf(q, sizeof q, "%s/other", out);
    assert_int_equal(symlink(q, p), 0);
    /* refused: not a run, a link to a run, a live run, a missing one */
    snprintf(p, sizeof p, "%s/plain", out);
    assert_int_equal(bd_run_delete(p, &e), -1);
    assert_non_null(strstr(e.msg, "not a bidora run"));
    snprintf(p, sizeof p, "%s/plain/keep.txt", out);
    assert_true(exists(p));
    snprintf(p, sizeof p, "%s/alias", out);
    assert_int_equal(symlink(q, p), 0);
    assert_int_equal(bd_run_delete(p, &e), -1);
    assert_non_null(strstr(e.msg, "not a directory"));
    snprintf(p, sizeof p, "%s/missing", out);
    assert_int_equal(bd_run_delete(p, &e), -1);
    snprintf(p, sizeof p, "%s/victim", out);
    bd_runlock l;
    assert_int_equal(bd_runlock_take(&l, p, &e), 0);
    assert_int_equal(bd_run_delete(p, &e), -1);
    assert_non_null(strstr(e.msg, "running"));
    snprintf(q, sizeof q, "%s/victim/checkpoint/state.bin", out);
    assert_true(exists(q));
    bd_runlock_release(&l);
    /* deleted: the directory and all in it; the other run and the plain directory stay */
    assert_int_equal(bd_run_delete(p, &e), 0);
    assert_false(exists(p));
    snprintf(q, sizeof q, "%s/other/metrics.csv", out);
    assert_true(exists(q));
    snprintf(q, sizeof q, "%s/other/config.ini", out);
    assert_true(exists(q));
    snprintf(q, sizeof q, "%s/plain/keep.txt", out);
    assert_true(exists(q));
    snprintf(q, sizeof q, "%s/alias", out);
    assert_true(exists(q));
}

/* A run whose metrics.csv is malformed or config.ini bad: the list and the
 * table say so (an error, "?" cells), nothing crashes. */
static void test_bad_runs(void **state) {
    (void)state;
    char out[400];
    bd_err e = {{0}};
    snprintf(out, sizeof out, "%s/bad", tmpdir);
    make_run(out, "garbled", "wall_time,step,phase,name,value\n1,1,train,train/loss,1\nthis is not a row\n", "method = lora\n");
    make_run(out, "noheader", "what,ever\n", "method = = =\n");
    bd_runs rs = {0};
    assert_int_equal(bd_runs_scan(&rs, out, &e), 0);
    assert_int_equal(rs.n, 2);
    assert_non_null(strstr(rs.r[0].err, "metrics.csv:3"));
    assert_int_equal(rs.r[0].steps, 1); /* what came before the bad row */
    assert_true(rs.r[1].err[0] != '\0');
    bd_cmp_table t = {0};
    t.rows = calloc(2, sizeof *t.rows);
    t.n = 2;
    for (int i = 0; i < 2; i++) {
        bd_cmp_row *row = &t.rows[i];
        snprintf(row->name, sizeof row->name, "%s", rs.r[i].name);
        int rc = bd_cmp_row_config(row, rs.r[i].dir);
        assert_int_equal(rc, i == 0 ? 0 : -1);
        bd_cmp_row_metrics(row, &rs.r[i].data, rs.r[i].wall_s, rs.r[i].wall_step);
    }
    assert_non_null(strstr(t.rows[1].err, "config.ini"));
    bd_cmp_build_cols(&t);
    assert_int_equal(t.ncols, 6); /* one config: nothing differs */
    char cell[64];
    bd_cmp_cell(&t, 1, 1, cell, sizeof cell);
    assert_string_equal(cell, "-");
    for (int c = 0; c < t.ncols; c++) { t.sort_col = c; bd_cmp_sort(&t); } /* sorting on unknowns is fine */
    bd_cmp_free(&t);
    bd_runs_free(&rs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gap),
        cmocka_unit_test(test_row_metrics),
        cmocka_unit_test(test_differing_and_sort),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_name_check),
        cmocka_unit_test(test_rename),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_bad_runs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
