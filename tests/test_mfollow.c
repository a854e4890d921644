/* The incremental metrics.csv follower (src/io/mfollow.c) and its users:
 * rows appended in pieces (a half row, then its rest), a long history read
 * in chunks, a restart when the file is replaced by rename or cut and
 * regrown, malformed rows named by file and line (and reported again until
 * the file changes), the header check, empty and missing files; the run
 * data on top of it (bd_run_data_follow clears and rereads on a restart;
 * bd_run_data_load_csv reads a last line without LF); and the live view's
 * file mode (a resumed run's history from metrics.csv, the channel's
 * metric records dropped). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "channel.h"
#include "live.h"
#include "mfollow.h"
#include "series.h"

static char dir[256], path[300];

#define HEADER "wall_time,step,phase,name,value\n"

/* What the callback saw. */
typedef struct seen {
    int n;
    long step[20000];
    int phase[20000];
    double wall[20000], value[20000];
    char name[20000][24];
    int fail_at;             /* > 0: refuse the row with this step */
} seen;
static seen got;

static int on_row(void *ctx, double wall, long step, int phase, const char *name, double value, bd_err *e) {
    seen *s = ctx;
    if (s->fail_at && step == s->fail_at) return bd_errf(e, "refused step %ld", step);
    assert_true(s->n < 20000);
    s->step[s->n] = step;
    s->phase[s->n] = phase;
    s->wall[s->n] = wall;
    s->value[s->n] = value;
    snprintf(s->name[s->n], sizeof s->name[0], "%s", name);
    s->n++;
    return 0;
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/bd_mfollow_XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Each test starts with no file and an empty record. */
static int fresh(void **state) {
    (void)state;
    unlink(path);
    memset(&got, 0, sizeof got);
    return 0;
}

static void put(const char *p, const char *text, const char *mode) {
    FILE *f = fopen(p, mode);
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}
static void append(const char *text) { put(path, text, "a"); }

/* A poll that must succeed without a restart; returns its row count. */
static int poll_ok(bd_mfollow *f) {
    bd_err e = {{0}};
    int restarted = -1;
    int r = bd_mfollow_poll(f, 0, on_row, &got, &restarted, &e);
    if (r < 0) fail_msg("poll failed (%d): %s", r, e.msg);
    assert_int_equal(restarted, 0);
    return r;
}

static void test_pieces(void **state) {
    (void)state;
    bd_mfollow f;
    bd_err e = {{0}};
    assert_int_equal(bd_mfollow_init(&f, path, &e), 0);
    append("wall_time,step,ph");
    assert_int_equal(poll_ok(&f), 0); /* a partial header waits */
    assert_int_equal(f.off, 0);
    append("ase,name,value\n");
    assert_int_equal(poll_ok(&f), 0);
    assert_int_equal(f.off, (long long)strlen(HEADER));
    assert_int_equal(f.line, 1);
    append("12.5,120,train,train/loss,0.69");
    assert_int_equal(poll_ok(&f), 0); /* half a row: nothing yet */
    assert_int_equal(f.off, (long long)strlen(HEADER));
    append("31\n13.0,121,retrain,eval/acc");
    assert_int_equal(poll_ok(&f), 1); /* the row's rest, and half of the next */
    assert_int_equal(got.step[0], 120);
    assert_int_equal(got.phase[0], 1);
    assert_float_equal(got.wall[0], 12.5, 0);
    assert_string_equal(got.name[0], "train/loss");
    assert_float_equal(got.value[0], 0.6931, 0);
    append("uracy,0.5\r\n\n14,122,2,lr,1e-3\n");
    assert_int_equal(poll_ok(&f), 2); /* CRLF, a blank line, a numeric phase */
    assert_int_equal(got.step[1], 121);
    assert_int_equal(got.phase[1], 2);
    assert_string_equal(got.name[1], "eval/accuracy");
    assert_float_equal(got.value[1], 0.5, 0);
    assert_int_equal(got.phase[2], 2);
    assert_float_equal(got.value[2], 1e-3, 0);
    assert_int_equal(f.line, 5);
    assert_int_equal(poll_ok(&f), 0); /* nothing new: nothing again */
    assert_int_equal(got.n, 3);
    assert_int_equal(f.restarts, 0);
}

/* 20,000 rows appended in pieces of every size (cut anywhere, across the
 * follower's 64 KiB reads), polled between: each row once, in order. */
static void test_many_rows(void **state) {
    (void)state;
    char *text = malloc(2 * 1024 * 1024);
    assert_non_null(text);
    size_t len = (size_t)sprintf(text, HEADER);
    for (int i = 0; i < 20000; i++)
        len += (size_t)sprintf(text + len, "%.3f,%d,train,wd/layer.%d.query/dM,%.9g\n", i * 0.01, i + 1, i % 6,
                               1.0 / (i + 1));
    bd_mfollow f;
    bd_err e = {{0}};
    assert_int_equal(bd_mfollow_init(&f, path, &e), 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    assert_true(fd >= 0);
    size_t done = 0, piece = 1;
    int polls = 0;
    while (done < len) {
        size_t n = piece < len - done ? piece : len - done;
        assert_int_equal(write(fd, text + done, n), (ssize_t)n);
        done += n;
        /* pieces of 1 byte to 10 KB, and now and then 100 KB (more than one read) */
        piece = ++polls % 40 ? (piece * 7919 + 13) % 9973 + 1 : 100000;
        poll_ok(&f);
    }
    close(fd);
    assert_int_equal(got.n, 20000);
    for (int i = 0; i < 20000; i++) {
        if (got.step[i] != i + 1) fail_msg("row %d: step %ld", i, got.step[i]);
        assert_float_equal(got.value[i], 1.0 / (i + 1), 1e-8);
    }
    assert_int_equal(f.off, (long long)len);
    assert_int_equal(f.line, 20001);
    assert_true(polls > 100);
    /* and all of it in one poll (a long history read in 64 KiB pieces) */
    memset(&got, 0, sizeof got);
    bd_mfollow g;
    assert_int_equal(bd_mfollow_init(&g, path, &e), 0);
    assert_int_equal(poll_ok(&g), 20000);
    assert_int_equal(got.step[19999], 20000);
    free(text);
}

/* A poll expected to restart: it reads nothing and rewinds to byte 0. */
static void expect_restart(bd_mfollow *f) {
    bd_err e = {{0}};
    int restarted = 0, n = got.n;
    assert_int_equal(bd_mfollow_poll(f, 0, on_row, &got, &restarted, &e), 0);
    assert_int_equal(restarted, 1);
    assert_int_equal(got.n, n);
    assert_int_equal(f->off, 0);
    assert_int_equal(f->line, 0);
}

static void test_restart_on_rename(void **state) {
    (void)state;
    bd_mfollow f;
    bd_err e = {{0}};
    append(HEADER "1,1,train,train/loss,1\n2,2,train,train/loss,0.9\n");
    assert_int_equal(bd_mfollow_init(&f, path, &e), 0);
    assert_int_equal(poll_ok(&f), 2);
    /* the trainer's bd_write_file_atomic: a temp file renamed over it, longer than before */
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.tmp.1", path);
    put(tmp, HEADER "5,1,train,train/loss,7\n6,2,train,train/loss,6\n7,3,train,train/loss,5\n", "w");
    assert_int_equal(rename(tmp, path), 0);
    expect_restart(&f);
    memset(&got, 0, sizeof got);
    assert_int_equal(poll_ok(&f), 3);
    assert_float_equal(got.value[0], 7, 0);
    assert_int_equal(got.step[2], 3);
    assert_int_equal(f.restarts, 1);
    /* the same file again: no restart */
    append("8,4,train,train/loss,4\n");
    assert_int_equal(poll_ok(&f), 1);
}

static void test_restart_on_cut(void **state) {
    (void)state;
    bd_mfollow f;
    bd_err e = {{0}};
    const char *rows = HEADER "10.001,1,train,train/loss,1\n10.002,2,train,train/loss,0.9\n10.003,3,train,train/loss,0.8\n";
    append(rows);
    assert_int_equal(bd_mfollow_init(&f, path, &e), 0);
    assert_int_equal(poll_ok(&f), 3);
    long long end = f.off;
    /* a resume cuts back to its checkpoint (after step 1), then the new
     * process writes steps 2, 3, 4 again with other wall times, past our offset */
    long long cut = (long long)(strstr(rows, "10.002") - rows);
    assert_int_equal(truncate(path, (off_t)cut), 0);
    append("99.12,2,train,train/loss,0.9\n99.13,3,train,train/loss,0.8\n99.14,4,train,train/loss,0.7\n");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true((long long)st.st_size > end); /* regrown past the offset: the size alone cannot tell */
    expect_restart(&f);
    memset(&got, 0, sizeof got);
    assert_int_equal(poll_ok(&f), 4);
    assert_int_equal(got.step[3], 4);
    assert_float_equal(got.wall[1], 99.12, 1e-12);
    /* cut below the offset and not regrown yet */
    assert_int_equal(truncate(path, (off_t)cut), 0);
    expect_restart(&f);
    memset(&got, 0, sizeof got);
    assert_int_equal(poll_ok(&f), 1);
    /* cut in the middle of a line, then regrown to the same length with other bytes */
    long long off = f.off;
    append("20.5,2,train,train/loss,0.5\n");
    assert_int_equal(poll_ok(&f), 1);
    assert_int_equal(truncate(path, (off_t)(off + 3)), 0);
    append("9,2,train,train/loss,0.55\n");
    expect_restart(&f);
    assert_int_equal(f.restarts, 3);
}

/* The malformed row's file and line, the rows before it delivered, the
 * same error on the next poll, and going on once the file is repaired. */
static void expect_error(const char *text, int rows, const char *msg) {
    unlink(path);
    memset(&got, 0, sizeof got);
    put(path, text, "w");
    bd_mfollow f;
    bd_err e = {{0}};
    assert_int_equal(bd_mfollow_init(&f, path, &e), 0);
    int restarted;
    for (int k = 0; k < 2; k++) {
        assert_int_equal(bd_mfollow_poll(&f, 0, on_row, &got, &restarted, &e), -1);
        if (!strstr(e.msg, msg)) fail_msg("\"%s\" lacks \"%s\"", e.msg, msg);
        assert_int_equal(strncmp(e.msg, path, strlen(path)), 0);
        assert_int_equal(got.n, rows); /* the second poll delivers nothing twice */
    }
    /* bd_run_data_load_csv says the same */
    bd_run_data d;
    bd_run_data_init(&d);
    bd_err e2 = {{0}};
    assert_int_equal(bd_run_data_load_csv(&d, path, &e2), -1);
    assert_string_equal(e2.msg, e.msg);
    bd_run_data_free(&d);
}

static void test_malformed(void **state) {
    (void)state;
    char msg[400];
    snprintf(msg, sizeof msg, "%s:3: expected 5 fields", path);
    expect_error(HEADER "1,1,train,train/loss,1\n1,2,train,train/loss\n1,3,train,train/loss,1\n", 1, msg);
    snprintf(msg, sizeof msg, "%s:2: expected 5 fields", path);
    expect_error(HEADER "1,x,train,train/loss,1\n", 0, msg);
    expect_error(HEADER "1,1,train,,1\n", 0, msg); /* an empty name */
    snprintf(msg, sizeof msg, "%s:4: value \"abc\" is not a number", path);
    expect_error(HEADER "1,1,train,a,1\n\n1,2,train,a,abc\n", 1, msg);
    snprintf(msg, sizeof msg, "%s:1: not a metrics.csv header (wall_time,step,phase,name,value)", path);
    expect_error("step,value\n1,2\n", 0, msg);
    char *long_line = malloc(1200);
    assert_non_null(long_line);
    snprintf(long_line, 1200, HEADER "1,1,train,a,1\n1,2,train,%0600d,1\n", 7);
    snprintf(msg, sizeof msg, "%s:3: line too long", path);
    expect_error(long_line, 1, msg);
    /* still without its LF: a partial line that can no longer be valid */
    long_line[strlen(long_line) - 1] = '\0';
    expect_error(long_line, 1, msg);
    free(long_line);
    /* the longest line taken: 510 bytes before the LF (the old reader's limit) */
    char row[600];
    int n = snprintf(row, sizeof row, "1,1,train,%0*d,1\n", 510 - 12, 3);
    assert_int_equal(n, 511);
    unlink(path);
    memset(&got, 0, sizeof got);
    put(path, HEADER, "w");
    append(row);
    bd_mfollow f;
    bd_err e = {{0}};
    assert_int_equal(bd_mfollow_init(&f, path, &e), 0);
    assert_int_equal(poll_ok(&f), 1);
    /* a repaired file goes on: the bad line is fixed in place (same length) */
    unlink(path);
    memset(&got, 0, sizeof got);
    put(path, HEADER "1,1,train,a,1\n1,2,train,a,xyz\n", "w");
    assert_int_equal(bd_mfollow_init(&f, path, &e), 0);
    int restarted;
    assert_int_equal(bd_mfollow_poll(&f, 0, on_row, &got, &restarted, &e), -1);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    off_t at = (off_t)strlen(HEADER "1,1,train,a,1\n1,2,train,a,");
    assert_int_equal(pwrite(fd, "2.5", 3, at), 3);
    close(fd);
    assert_int_equal(poll_ok(&f), 1);
    assert_float_equal(got.value[1], 2.5, 0);
    /* a callback's error stops the poll; the refused row is offered again */
    append("1,3,train,a,3\n1,4,train,a,4\n");
    got.fail_at = 4;
    assert_int_equal(bd_mfollow_poll(&f, 0, on_row, &got, &restarted, &e), -1);
    assert_string_equal(e.msg, "refused step 4");
    assert_int_equal(got.n, 3);
    got.fail_at = 0;
    assert_int_equal(poll_ok(&f), 1);
    assert_int_equal(got.step[3], 4);
}

static void test_empty_and_missing(void **state) {
    (void)state;
    bd_mfollow f;
    bd_err e = {{0}};
    int restarted;
    assert_int_equal(bd_mfollow_init(&f, path, &e), 0);
    /* missing: poll again later */
    assert_int_equal(bd_mfollow_poll(&f, 0, on_row, &got, &restarted, &e), BD_MF_MISSING);
    assert_non_null(strstr(e.msg, "metrics.csv: cannot open: No such file"));
    /* empty: nothing yet, no error (the header is coming) */
    put(path, "", "w");
    assert_int_equal(poll_ok(&f), 0);
    /* FINAL: an empty file is an error, a header alone is not */
    assert_int_equal(bd_mfollow_poll(&f, BD_MF_FINAL, on_row, &got, &restarted, &e), -1);
    char msg[400];
    snprintf(msg, sizeof msg, "%s: empty file", path);
    assert_string_equal(e.msg, msg);
    append(HEADER "1,1,train,a,1\n");
    assert_int_equal(poll_ok(&f), 1);
    /* the file goes away (state kept), then comes back as another file: a restart */
    unlink(path);
    assert_int_equal(bd_mfollow_poll(&f, 0, on_row, &got, &restarted, &e), BD_MF_MISSING);
    assert_int_equal(f.line, 2);
    put(path, HEADER "1,1,train,a,9\n1,2,train,a,8\n", "w");
    expect_restart(&f);
    assert_int_equal(poll_ok(&f), 2);
    assert_float_equal(got.value[got.n - 1], 8, 0);
    /* a path that does not fit is refused at init */
    char longp[5000];
    memset(longp, 'x', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    assert_int_equal(bd_mfollow_init(&f, longp, &e), -1);
    assert_non_null(strstr(e.msg, "path too long"));
}

/* The run data over the follower: a restart clears and rereads; a whole
 * read takes a last line without LF, a follow leaves it for later. */
static void test_run_data(void **state) {
    (void)state;
    put(path, HEADER "1,1,train,train/loss,1\n1,2,train,train/loss,0.9\n1,3,train,train/loss,0.8", "w");
    bd_run_data d;
    bd_run_data_init(&d);
    bd_err e = {{0}};
    assert_int_equal(bd_run_data_load_csv(&d, path, &e), 0);
    assert_int_equal(bd_run_data_find(&d, "train/loss")->n, 3);
    bd_run_data_clear(&d);
    bd_mfollow f;
    assert_int_equal(bd_mfollow_init(&f, path, &e), 0);
    int restarted = -1;
    assert_int_equal(bd_run_data_follow(&d, &f, &restarted, &e), 2);
    assert_int_equal(restarted, 0);
    assert_int_equal(d.max_step, 2);
    append("\n");
    assert_int_equal(bd_run_data_follow(&d, &f, &restarted, &e), 1);
    assert_int_equal(d.max_step, 3);
    /* a resume cut back to step 1 and trained on with other values: the
     * series hold the new values of steps 2 and 3, not the old ones */
    assert_int_equal(truncate(path, (off_t)strlen(HEADER "1,1,train,train/loss,1\n")), 0);
    append("5,2,train,train/loss,0.5\n5,3,train,train/loss,0.4\n5,4,train,train/loss,0.3\n");
    assert_int_equal(bd_run_data_follow(&d, &f, &restarted, &e), 4);
    assert_int_equal(restarted, 1);
    const bd_series *s = bd_run_data_find(&d, "train/loss");
    assert_int_equal(s->n, 4);
    assert_float_equal(s->x[0], 1, 0);
    assert_float_equal(s->y[1], 0.5, 0);
    assert_float_equal(s->y[3], 0.3, 0);
    bd_run_data_free(&d);
}

/* A resumed run's live view: metrics from RUN/metrics.csv once the trainer
 * is past loading (history before the checkpoint included), the channel's
 * metric records drained and dropped; logs and status still from the channel. */
static void test_live_file_mode(void **state) {
    (void)state;
    bd_channel *ch = calloc(1, sizeof *ch);
    bd_live *lv = calloc(1, sizeof *lv);
    assert_non_null(ch);
    assert_non_null(lv);
    assert_int_equal(bd_channel_init(ch), 0);
    bd_live_init(lv);
    bd_live_follow_file(lv);
    put(path, HEADER "1,1,train,train/loss,1\n1,2,train,train/loss,0.9\n", "w");
    bd_status st;
    memset(&st, 0, sizeof st);
    st.state = BD_RUN_LOADING;
    snprintf(st.run_dir, sizeof st.run_dir, "%s", dir);
    bd_channel_status(ch, &st);
    bd_live_poll(lv, ch);
    assert_null(bd_run_data_find(&lv->data, "train/loss")); /* loading: the file is about to be cut */
    st.state = BD_RUN_RUNNING;
    bd_channel_status(ch, &st);
    bd_metric m = {1, 3, 1, "train/loss", 0.8};
    bd_channel_metric(ch, &m); /* the same row reaches the channel and, committed, the file */
    bd_metric other = {1, 3, 1, "channel/only", 5};
    bd_channel_metric(ch, &other);
    append("1,3,train,train/loss,0.8\n");
    bd_channel_log(ch, "resumed");
    assert_int_equal(bd_live_poll(lv, ch), 1);
    const bd_series *s = bd_run_data_find(&lv->data, "train/loss");
    assert_non_null(s);
    assert_int_equal(s->n, 3); /* the history from step 1 */
    assert_float_equal(s->x[0], 1, 0);
    assert_null(bd_run_data_find(&lv->data, "channel/only")); /* channel records dropped */
    assert_int_equal(lv->next_metric, 2);                      /* ... but drained */
    assert_string_equal(bd_live_log(lv, 0), "resumed");
    /* the file is cut and rewritten under us: cleared and reread */
    put(path, HEADER "2,1,train,train/loss,3\n", "w");
    bd_live_poll(lv, ch);
    s = bd_run_data_find(&lv->data, "train/loss");
    assert_int_equal(s->n, 1);
    assert_float_equal(s->y[0], 3, 0);
    /* a malformed row: the log says so once, the charts keep what they had */
    append("2,2,train,train/loss\n");
    bd_live_poll(lv, ch);
    bd_live_poll(lv, ch);
    assert_non_null(strstr(bd_live_log(lv, 0), "metrics.csv:3: expected 5 fields"));
    assert_string_equal(bd_live_log(lv, 1), "resumed");
    assert_int_equal(bd_run_data_find(&lv->data, "train/loss")->n, 1);
    /* a reset (a fresh run) leaves file mode */
    bd_live_reset(lv);
    bd_channel_metric(ch, &other);
    bd_live_poll(lv, ch);
    assert_non_null(bd_run_data_find(&lv->data, "channel/only"));
    bd_live_free(lv);
    bd_channel_destroy(ch);
    free(lv);
    free(ch);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_pieces, fresh),
        cmocka_unit_test_setup(test_many_rows, fresh),
        cmocka_unit_test_setup(test_restart_on_rename, fresh),
        cmocka_unit_test_setup(test_restart_on_cut, fresh),
        cmocka_unit_test_setup(test_malformed, fresh),
        cmocka_unit_test_setup(test_empty_and_missing, fresh),
        cmocka_unit_test_setup(test_run_data, fresh),
        cmocka_unit_test_setup(test_live_file_mode, fresh),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
