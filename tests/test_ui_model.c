/* The workbench's models, without a terminal: run series (dedupe,
 * metrics.csv parsing, best eval), the set-up form (validation as you
 * type, cycling, this build's cuda refusal, split sliders, the line
 * editor), the file browser and CSV header, the runs scan, following
 * its runs as they grow, the atomic CSV export, and the choice of glyphs
 * and colour scheme. */
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

#include "backend.h"
#include "browser.h"
#include "form.h"
#include "runs.h"
#include "series.h"
#include "trainable.h"
#include "term.h"

static char tmpdir[256];

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bd_ui_model_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_series(void **state) {
    (void)state;
    bd_run_data d;
    bd_run_data_init(&d);
    bd_run_data_add(&d, "train/loss", 1, 2.0);
    bd_run_data_add(&d, "train/loss", 2, 1.5);
    bd_run_data_add(&d, "train/loss", 2, 9.0); /* the same step again: dropped */
    bd_run_data_add(&d, "train/loss", 1, 9.0); /* an earlier step: dropped */
    bd_run_data_add(&d, "eval/accuracy", 5, 0.7);
    bd_run_data_add(&d, "eval/accuracy", 10, 0.9);
    bd_run_data_add(&d, "eval/accuracy", 15, 0.9); /* a tie: the first maximum stays best */
    const bd_series *s = bd_run_data_find(&d, "train/loss");
    assert_non_null(s);
    assert_int_equal(s->n, 2);
    assert_float_equal(s->y[1], 1.5, 0);
    assert_null(bd_run_data_find(&d, "nope"));
    long step;
    double v;
    const char *name;
    assert_int_equal(bd_best_eval(&d, &step, &v, &name), 0);
    assert_int_equal(step, 10);
    assert_string_equal(name, "eval/accuracy");
    assert_float_equal(bd_series_at(bd_run_data_find(&d, "eval/accuracy"), 15), 0.9, 0);
    assert_true(isnan(bd_series_at(s, 7)));
    assert_int_equal(d.max_step, 15);
    for (int i = 3; i < 5000; i++) bd_run_data_add(&d, "train/loss", i, 1.0 / i); /* growth */
    assert_int_equal(bd_run_data_find(&d, "train/loss")->n, 4999);
    bd_run_data_free(&d);
}

static void test_metrics_csv(void **state) {
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/metrics.csv", tmpdir);
    write_file(path, "wall_time,step,phase,name,value\n"
                     "0.1,1,train,train/loss,0.69\n"
                     "0.2,1,train,val/loss,0.70\n\n"
                     "0.3,2,retrain,train/loss,0.5\r\n"
                     "0.4,2,train,wd/layer.0.query/dM,1e-3\n");
    bd_run_data d;
    bd_err e = {{0}};
    bd_run_data_init(&d);
    assert_int_equal(bd_run_data_load_csv(&d, path, &e), 0);
    assert_int_equal(bd_run_data_find(&d, "train/loss")->n, 2);
    assert_float_equal(bd_run_data_find(&d, "wd/layer.0.query/dM")->y[0], 1e-3, 0);
    bd_run_data_free(&d);
    write_file(path, "wall_time,step,phase,name,value\n0.1,1,train,train/loss\n");
    bd_run_data_init(&d);
    assert_int_equal(bd_run_data_load_csv(&d, path, &e), -1);
    assert_non_null(strstr(e.msg, "metrics.csv:2"));
    write_file(path, "a,b\n");
    assert_int_equal(bd_run_data_load_csv(&d, path, &e), -1);
    assert_non_null(strstr(e.msg, "header"));
    bd_run_data_free(&d);
}

static void test_form_validation(void **state) {
    (void)state;
    bd_config c;
    bd_config_defaults(&c);
    char err[1024];
    assert_int_equal(bd_form_check(&c, "rank", "8", err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_int_equal(bd_form_check(&c, "rank", "8x", err, sizeof err), -1);
    assert_non_null(strstr(err, "rank"));
    assert_int_equal(c.rank, 4); /* a check never changes the config */
    assert_int_equal(bd_form_check(&c, "lr", "", err, sizeof err), -1);
    assert_int_equal(bd_form_check(&c, "split", "0.5,0.5,0.5", err, sizeof err), -1);
    /* cuda is refused where it cannot train (these tests link the simulator's device) */
    const int cuda = bd_backend_cuda_probe(NULL, 0);
    assert_int_equal(bd_form_check(&c, "backend", "cuda", err, sizeof err), cuda ? 0 : -1);
    if (!cuda) assert_non_null(strstr(err, "backend = cuda"));
    assert_int_equal(bd_form_apply(&c, "rank", "16", err, sizeof err), 0);
    assert_int_equal(c.rank, 16);
    /* cycling an enum walks its allowed values and wraps; cuda only where it can train */
    assert_int_equal(c.method, 0);
    bd_form_cycle(&c, "method", 1, err, sizeof err);
    assert_int_equal(c.method, 1);
    bd_form_cycle(&c, "method", -1, err, sizeof err);
    bd_form_cycle(&c, "method", -1, err, sizeof err);
    assert_int_equal(c.method, 3);
    int saw_cuda = 0;
    for (int i = 0; i < 5; i++) {
        bd_form_cycle(&c, "backend", 1, err, sizeof err);
        saw_cuda |= c.backend == 2;
    }
    assert_int_equal(saw_cuda, cuda); /* offered exactly when it can train */
    c.backend = 0;
    bd_form_cycle(&c, "rslora", 1, err, sizeof err);
    assert_int_equal(c.rslora, 1);
    assert_int_equal(bd_form_cycle(&c, "rank", 1, err, sizeof err), -1);
    /* readiness names what is missing */
    bd_config_set(&c, "model", "/nonexistent/model", NULL);
    assert_int_equal(bd_form_ready(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "make model"));
    bd_config_set(&c, "model", "tests/ref/tiny_bert", NULL);
    bd_config_set(&c, "data", "tests/ref/tiny.csv", NULL);
    assert_int_equal(bd_form_ready(&c, err, sizeof err), 0);
    bd_config_set(&c, "data", "/nonexistent.csv", NULL);
    assert_int_equal(bd_form_ready(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "make data"));
}

static void test_widgets(void **state) {
    (void)state;
    int n = bd_config_n_keys(), seen[BD_N_WIDGETS] = {0};
    for (int i = 0; i < n; i++) {
        bd_config_key_info k;
        bd_config_key(i, &k);
        seen[bd_form_widget(&k)]++;
    }
    for (int w = 0; w < BD_N_WIDGETS; w++) assert_true(seen[w] > 0); /* every widget has a key */
}

static void test_split_sliders(void **state) {
    (void)state;
    double f[3] = {0.64, 0.16, 0.20};
    bd_split_adjust(f, 0, 0.01);
    assert_float_equal(f[0], 0.65, 1e-12);
    assert_float_equal(f[1], 0.15, 1e-12);
    for (int i = 0; i < 50; i++) bd_split_adjust(f, 0, 0.1);
    assert_float_equal(f[0], 1.0, 1e-12);
    assert_float_equal(f[1] + f[2], 0.0, 1e-12);
    bd_split_adjust(f, 2, 0.3); /* eval takes from train (val has nothing) */
    assert_float_equal(f[2], 0.3, 1e-12);
    assert_float_equal(f[0], 0.7, 1e-12);
    for (int i = 0; i < 200; i++) {
        bd_split_adjust(f, i % 3, (i % 7 - 3) * 0.05);
        double s = f[0] + f[1] + f[2];
        assert_float_equal(s, 1.0, 1e-9);
        for (int j = 0; j < 3; j++) assert_true(f[j] >= 0 && f[j] <= 1);
    }
}

static void test_line_editor(void **state) {
    (void)state;
    bd_line l;
    bd_line_set(&l, "ab");
    bd_line_insert(&l, 0xe9);   /* é: 2 bytes */
    bd_line_insert(&l, 0x2800); /* 3 bytes */
    bd_line_insert(&l, 7);      /* a control character: ignored */
    assert_string_equal(l.buf, "ab\xc3\xa9\xe2\xa0\x80");
    bd_line_backspace(&l);
    assert_string_equal(l.buf, "ab\xc3\xa9");
    bd_line_backspace(&l);
    bd_line_backspace(&l);
    bd_line_backspace(&l);
    bd_line_backspace(&l);
    assert_string_equal(l.buf, "");
}

static void test_browser(void **state) {
    (void)state;
    char out[512], p[512];
    bd_path_join(out, sizeof out, ".", "x");
    assert_string_equal(out, "x");
    bd_path_join(out, sizeof out, "a/b", "..");
    assert_string_equal(out, "a");
    bd_path_join(out, sizeof out, "a", "..");
    assert_string_equal(out, ".");
    bd_path_join(out, sizeof out, ".", "..");
    assert_string_equal(out, "..");
    bd_path_join(out, sizeof out, "..", "..");
    assert_string_equal(out, "../..");
    bd_path_join(out, sizeof out, "/x", "..");
    assert_string_equal(out, "/");
    /* a tree: a model dir, a plain dir, a csv, an ini, a hidden file */
    snprintf(p, sizeof p, "%s/m", tmpdir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/m/config.json", tmpdir);
    write_file(p, "{}");
    snprintf(p, sizeof p, "%s/plain", tmpdir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/d.csv", tmpdir);
    write_file(p, "\xef\xbb\xbf\"te,xt\",label\nhello,1\n");
    snprintf(p, sizeof p, "%s/c.ini", tmpdir);
    write_file(p, "rank = 2\n");
    snprintf(p, sizeof p, "%s/.hidden.csv", tmpdir);
    write_file(p, "x\n");
    bd_browser b;
    bd_err e = {{0}};
    snprintf(p, sizeof p, "%s/m", tmpdir);
    assert_int_equal(bd_browser_open(&b, BD_BROWSE_MODEL, p, &e), 0);
    assert_string_equal(b.dir, tmpdir);              /* a model dir opens its parent */
    assert_string_equal(b.e[b.sel].name, "m");       /* ... with it selected */
    assert_string_equal(b.e[0].name, "..");
    int models = 0, files = 0;
    for (int i = 0; i < b.n; i++) { models += b.e[i].is_model; files += !b.e[i].is_dir; }
    assert_int_equal(models, 1);
    assert_int_equal(files, 0);
    bd_browser_free(&b);
    /* every family's model directory is a model in the browser (issue 15) */
    assert_int_equal(bd_browser_open(&b, BD_BROWSE_MODEL, "tests/ref", &e), 0);
    const char *fams[] = {"tiny_bert", "tiny_roberta", "tiny_esm", "tiny_esm_reg"};
    for (int k = 0; k < 4; k++) {
        int found = 0;
        for (int i = 0; i < b.n; i++) if (!strcmp(b.e[i].name, fams[k])) found = b.e[i].is_model ? 1 : -1;
        if (found != 1) fail_msg("%s: %s", fams[k], found ? "listed, not as a model" : "not listed");
    }
    bd_browser_free(&b);
    assert_int_equal(bd_browser_open(&b, BD_BROWSE_CSV, tmpdir, &e), 0);
    files = 0;
    for (int i = 0; i < b.n; i++) files += !b.e[i].is_dir;
    assert_int_equal(files, 2);                      /* d.csv and metrics.csv, not the hidden one */
    int plain = -1;
    for (int i = 0; i < b.n; i++) if (!strcmp(b.e[i].name, "plain")) plain = i;
    assert_true(plain > 0);
    assert_int_equal(bd_browser_enter(&b, plain, &e), 0);
    assert_int_equal(b.n, 1);                        /* only ".." */
    assert_int_equal(bd_browser_enter(&b, 0, &e), 0);
    assert_string_equal(b.e[b.sel].name, "plain");   /* back up, on where we came from */
    bd_browser_free(&b);
    assert_int_equal(bd_browser_open(&b, BD_BROWSE_DIR, tmpdir, &e), 0);
    assert_string_equal(b.e[1].name, ".");
    bd_browser_free(&b);
    char cols[BD_MAX_COLS][128];
    int nc;
    snprintf(p, sizeof p, "%s/d.csv", tmpdir);
    assert_int_equal(bd_csv_header(p, cols, BD_MAX_COLS, &nc, &e), 0);
    assert_int_equal(nc, 2);
    assert_string_equal(cols[0], "te,xt");
    assert_string_equal(cols[1], "label");
}

static void test_runs_and_export(void **state) {
    (void)state;
    char p[512];
    const char *names[2] = {"lora-1", "bidora-2"};
    snprintf(p, sizeof p, "%s/runs", tmpdir);
    mkdir(p, 0755);
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/runs/%s", tmpdir, names[i]);
        mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/runs/%s/metrics.csv", tmpdir, names[i]);
        write_file(p, i ? "wall_time,step,phase,name,value\n1,5,train,eval/accuracy,0.8\n1,10,train,eval/accuracy,0.85\n"
                        : "wall_time,step,phase,name,value\n1,5,train,eval/accuracy,0.7\n");
        snprintf(p, sizeof p, "%s/runs/%s/config.ini", tmpdir, names[i]);
        write_file(p, i ? "method = bidora\nmax_steps = 10\n" : "method = lora\nmax_steps = 5\n");
    }
    snprintf(p, sizeof p, "%s/runs/not-a-run", tmpdir);
    mkdir(p, 0755);
    bd_runs rs = {0};
    bd_err e = {{0}};
    snprintf(p, sizeof p, "%s/runs", tmpdir);
    assert_int_equal(bd_runs_scan(&rs, p, &e), 0);
    assert_int_equal(rs.n, 2);
    assert_string_equal(rs.r[0].name, "bidora-2"); /* sorted by name */
    assert_string_equal(rs.r[0].method, "bidora");
    assert_int_equal(rs.r[0].steps, 10);
    assert_int_equal(rs.r[0].total, 10);
    assert_float_equal(rs.r[0].best, 0.85, 0);
    assert_string_equal(rs.r[1].method, "lora");
    /* export both runs' eval accuracy */
    bd_export_series ex[2];
    for (int i = 0; i < 2; i++) {
        const bd_series *s = bd_run_data_find(&rs.r[i].data, "eval/accuracy");
        ex[i] = (bd_export_series){rs.r[i].name, s->x, s->y, s->n};
    }
    char out[600];
    bd_export_path(out, sizeof out, p, "eval/accuracy");
    assert_non_null(strstr(out, "/export-eval_accuracy-"));
    assert_int_equal(bd_export_csv(out, "step", ex, 2, &e), 3);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char text[512] = "";
    size_t got = fread(text, 1, sizeof text - 1, f);
    text[got] = '\0';
    fclose(f);
    assert_string_equal(text, "series,step,value\n\"bidora-2\",5,0.8\n\"bidora-2\",10,0.85\n\"lora-1\",5,0.7\n");
    assert_int_equal(bd_runs_scan(&rs, p, &e), 0); /* a rescan frees and refills */
    assert_int_equal(rs.n, 2);
    bd_runs_free(&rs);
    snprintf(p, sizeof p, "%s/none", tmpdir);
    assert_int_equal(bd_runs_scan(&rs, p, &e), -1);
    assert_int_equal(bd_export_csv("/nonexistent/dir/x.csv", "step", ex, 0, &e), -1);
}

/* The runs browser follows its runs: rows a run's metrics.csv gained, a
 * checkpoint and an adapter appearing, config.ini rewritten by a resume,
 * a file replaced; a run that appears in out_dir joins the list. */
static void test_runs_follow(void **state) {
    (void)state;
    char p[512], m[600];
    snprintf(p, sizeof p, "%s/follow", tmpdir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/follow/b-run", tmpdir);
    mkdir(p, 0755);
    snprintf(m, sizeof m, "%s/metrics.csv", p);
    write_file(m, "wall_time,step,phase,name,value\n1,1,train,train/loss,1\n");
    bd_runs rs = {0};
    bd_err e = {{0}};
    snprintf(p, sizeof p, "%s/follow", tmpdir);
    assert_int_equal(bd_runs_scan(&rs, p, &e), 0);
    assert_int_equal(rs.n, 1);
    bd_run_info *r = &rs.r[0];
    assert_int_equal(r->steps, 1);
    assert_string_equal(r->method, "?"); /* no config.ini */
    assert_int_equal(r->running_pid, 0);
    assert_int_equal(bd_run_follow(r), 0); /* nothing new */
    FILE *f = fopen(m, "a");
    assert_non_null(f);
    fputs("2,2,train,train/loss,0.9\n2,2,train,eval/accuracy,0.75\n3,3,train,train/lo", f); /* the last row half written */
    fclose(f);
    assert_int_equal(bd_run_follow(r), 1);
    assert_int_equal(r->steps, 2);
    assert_int_equal(r->has_best, 1);
    assert_float_equal(r->best, 0.75, 0);
    assert_int_equal(bd_run_data_find(&r->data, "train/loss")->n, 2);
    snprintf(p, sizeof p, "%s/follow/b-run/config.ini", tmpdir);
    write_file(p, "method = dora\nmax_steps = 30\n");
    snprintf(p, sizeof p, "%s/follow/b-run/checkpoint", tmpdir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/follow/b-run/checkpoint/state.bin", tmpdir);
    write_file(p, "x");
    f = fopen(m, "a");
    fputs("ss,0.8\n", f);
    fclose(f);
    assert_int_equal(bd_run_follow(r), 1);
    assert_int_equal(r->steps, 3);
    assert_string_equal(r->method, "dora");
    assert_int_equal(r->total, 30);
    assert_int_equal(r->has_ckpt, 1);
    assert_int_equal(r->done, 0);
    /* a fresh start over it (rename): the old rows go */
    snprintf(p, sizeof p, "%s/follow/b-run/metrics.csv.tmp.1", tmpdir);
    write_file(p, "wall_time,step,phase,name,value\n1,1,train,train/loss,5\n");
    assert_int_equal(rename(p, m), 0);
    assert_int_equal(bd_run_follow(r), 1);
    assert_int_equal(r->steps, 1);
    assert_int_equal(r->has_best, 0);
    assert_float_equal(bd_run_data_find(&r->data, "train/loss")->y[0], 5, 0);
    /* a malformed row is named; the run keeps what came before it */
    f = fopen(m, "a");
    fputs("1,2,train,train/loss\n", f);
    fclose(f);
    assert_int_equal(bd_run_follow(r), 1);
    assert_non_null(strstr(r->err, "metrics.csv:3: expected 5 fields"));
    assert_int_equal(bd_run_follow(r), 0); /* the same error is no change */
    /* a run that appears joins the list, sorted */
    snprintf(p, sizeof p, "%s/follow/a-run", tmpdir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/follow/a-run/metrics.csv", tmpdir);
    write_file(p, "wall_time,step,phase,name,value\n1,7,train,train/loss,1\n");
    snprintf(p, sizeof p, "%s/follow", tmpdir);
    assert_int_equal(bd_runs_add_new(&rs, p), 1);
    assert_int_equal(bd_runs_add_new(&rs, p), 0);
    assert_int_equal(rs.n, 2);
    assert_string_equal(rs.r[0].name, "a-run");
    assert_int_equal(rs.r[0].steps, 7);
    assert_string_equal(rs.r[1].name, "b-run");
    bd_runs_free(&rs);
}

/* The form's groups: every key in one; a method's keys only with it; one of max_steps and
 * epochs; moving skips what is hidden. */
static void test_form_groups(void **state) {
    (void)state;
    bd_config c;
    bd_config_defaults(&c);
    const int n = bd_config_n_keys();
    for (int i = 0; i < n; i++) {
        bd_config_key_info k;
        bd_config_key(i, &k);
        if (bd_form_group_of(k.name) < 0) fail_msg("key %s has no group in the form", k.name);
    }
    int rows[256], nr, headers = 0, keys = 0, idx_rank = -1, idx_dng = -1, idx_lr = -1;
    for (int i = 0; i < n; i++) {
        bd_config_key_info k;
        bd_config_key(i, &k);
        if (!strcmp(k.name, "rank")) idx_rank = i;
        if (!strcmp(k.name, "dora_norm_grad")) idx_dng = i;
        if (!strcmp(k.name, "lr")) idx_lr = i;
    }
    c.method = BD_METHOD_BIDORA;
    c.max_steps = 100;
    nr = bd_form_rows(&c, rows, 256);
    for (int i = 0; i < nr; i++) { headers += rows[i] < 0; keys += rows[i] >= 0; }
    assert_int_equal(headers, BD_N_GROUPS);  /* every group shows for BiDoRA */
    assert_int_equal(keys, n - 1);           /* all keys but epochs */
    assert_int_equal(rows[0], -(BD_G_MODEL + 1));
    assert_true(bd_form_shown(&c, "max_steps") && !bd_form_shown(&c, "epochs"));
    c.max_steps = 0;
    assert_true(!bd_form_shown(&c, "max_steps") && bd_form_shown(&c, "epochs"));
    c.method = BD_METHOD_LORA;
    nr = bd_form_rows(&c, rows, 256);
    for (int i = 0; i < nr; i++) assert_int_not_equal(rows[i], -(BD_G_BIDORA + 1)); /* no BiDoRA group */
    assert_false(bd_form_shown(&c, "darts_alpha"));
    assert_false(bd_form_shown(&c, "dora_norm_grad"));
    assert_true(bd_form_shown(&c, "rank"));
    c.method = BD_METHOD_FULL;
    assert_false(bd_form_shown(&c, "rank") || bd_form_shown(&c, "target_modules"));
    assert_true(bd_form_shown(&c, "method"));
    /* from the hidden rank (full fine-tuning) to a shown key; the moves skip hidden keys */
    int at = bd_form_step(&c, idx_rank, 0);
    assert_true(at != idx_rank);
    bd_config_key_info k;
    bd_config_key(at, &k);
    assert_true(bd_form_shown(&c, k.name));
    c.method = BD_METHOD_LORA;
    assert_int_equal(bd_form_step(&c, idx_rank, 0), idx_rank);
    for (int s = idx_rank, i = 0; i < 60; i++) {
        s = bd_form_step(&c, s, 1);
        assert_int_not_equal(s, idx_dng); /* dora_norm_grad is never stepped on for LoRA */
    }
    assert_int_equal(bd_form_step(&c, 0, -5), bd_form_step(&c, 0, 0)); /* clamped at the top */
    assert_true(idx_lr >= 0);
}

static void test_term_choice(void **state) {
    (void)state;
    bd_term t;
    bd_term_opts o = {0};
    bd_term_choose(&t, &o, "UTF-8", NULL);
    assert_int_equal(t.glyphs, BD_GLYPH_BRAILLE);
    assert_false(t.mono);
    bd_term_choose(&t, &o, "ANSI_X3.4-1968", NULL); /* the C locale: ASCII plots */
    assert_int_equal(t.glyphs, BD_GLYPH_ASCII);
    bd_term_choose(&t, &o, "UTF-8", "1");          /* NO_COLOR set: monochrome */
    assert_true(t.mono);
    bd_term_choose(&t, &o, "UTF-8", "");           /* NO_COLOR empty: colours */
    assert_false(t.mono);
    o.ascii = 1;
    bd_term_choose(&t, &o, "UTF-8", NULL);
    assert_int_equal(t.glyphs, BD_GLYPH_ASCII);
    o = (bd_term_opts){0, 1, 1};
    bd_term_choose(&t, &o, "utf8", NULL);
    assert_int_equal(t.glyphs, BD_GLYPH_BLOCK);
    assert_true(t.mono);
    for (int i = 1; i < BD_N_COLOURS; i++) assert_true(t.attr[i] != 0 || i == BD_C_NORMAL || i == BD_C_OK ||
                                                       i == BD_C_BORDER || i == BD_C_TRAIN || i == BD_C_SERIES0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_series),
        cmocka_unit_test(test_metrics_csv),
        cmocka_unit_test(test_form_validation),
        cmocka_unit_test(test_widgets),
        cmocka_unit_test(test_split_sliders),
        cmocka_unit_test(test_line_editor),
        cmocka_unit_test(test_browser),
        cmocka_unit_test(test_runs_and_export),
        cmocka_unit_test(test_runs_follow),
        cmocka_unit_test(test_form_groups),
        cmocka_unit_test(test_term_choice),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
