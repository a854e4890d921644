/* Two-thread stress test of the channel, as the workbench uses it: one
 * thread publishes metrics, logs, status snapshots and magnitude
 * snapshots as fast as it can (the trainer's side, including its
 * double-buffer protocol for magnitudes); the other reads them the way
 * the UI does (bd_channel_read_* and bd_live_poll) and checks that
 * records arrive in order, that losses are counted, and that no record,
 * status or snapshot is ever torn. Must pass under ThreadSanitizer
 * (make SAN=thread OPT=-O1 test). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "live.h"

#define N_METRICS 120000L /* > 14 ring lengths */
#define PER_STEP 4        /* metric records per step */

typedef struct shared {
    bd_channel ch;
    int done;             /* guarded by ch.mu */
} shared;

static double value_of(long step, int k) { return (double)step * 10 + k; }

/* The trainer's magnitude publication: fill the back buffer outside the
 * lock, flip mag_front under it (as src/train/trainer.c publish_magnitudes). */
static void publish_mag(bd_channel *ch, long step) {
    pthread_mutex_lock(&ch->mu);
    int want = ch->want_mag_layer, back = 1 - ch->mag_front;
    pthread_mutex_unlock(&ch->mu);
    bd_mag_snapshot *s = &ch->mag[back];
    s->step = step;
    s->layer = want;
    s->n = (int)(step % 200) + 1;
    snprintf(s->module, sizeof s->module, "mod%ld", step % 5);
    for (int j = 0; j < s->n; j++) {
        s->m[j] = (float)(step % 1000) + j;
        s->m0[j] = (float)j;
    }
    pthread_mutex_lock(&ch->mu);
    ch->mag_front = back;
    pthread_mutex_unlock(&ch->mu);
}

static void *writer(void *arg) {
    shared *sh = arg;
    bd_channel *ch = &sh->ch;
    for (long i = 0; i < N_METRICS; i++) {
        long step = i / PER_STEP;
        int k = (int)(i % PER_STEP);
        bd_metric m = {0.001 * (double)i, step, 1, "", value_of(step, k)};
        snprintf(m.name, sizeof m.name, "m/%d", k);
        bd_channel_metric(ch, &m);
        if (k == PER_STEP - 1) {
            bd_status st;
            memset(&st, 0, sizeof st);
            st.state = BD_RUN_RUNNING;
            st.step = step;
            st.total = 2 * step;
            st.loss = (double)step;
            snprintf(st.message, sizeof st.message, "status %ld", step);
            bd_channel_status(ch, &st);
            if (step % 3 == 0) bd_channel_log(ch, "log %ld", step);
            if (step % 7 == 0) publish_mag(ch, step);
        }
    }
    pthread_mutex_lock(&ch->mu);
    sh->done = 1;
    pthread_mutex_unlock(&ch->mu);
    return NULL;
}

typedef struct reader_state {
    long next, seen, lost, last_index, last_status, last_log, logs, mags;
    bd_metric buf[512];
} reader_state;

/* Raw reads: each record is whole, and indices only move forward. */
static void read_raw(bd_channel *ch, reader_state *r) {
    for (;;) {
        long lost = 0, first = r->next;
        int n = bd_channel_read_metrics(ch, &r->next, r->buf, 512, &lost);
        r->lost += lost;
        long idx = first + lost;
        for (int i = 0; i < n; i++, idx++) {
            long step = idx / PER_STEP;
            int k = (int)(idx % PER_STEP);
            char want[64];
            snprintf(want, sizeof want, "m/%d", k);
            assert_int_equal(r->buf[i].step, step);
            assert_string_equal(r->buf[i].name, want);
            assert_true(r->buf[i].value == value_of(step, k));
            assert_true(idx > r->last_index);
            r->last_index = idx;
        }
        r->seen += n;
        if (n < 512) return;
    }
}

/* The UI's reads: status, logs and magnitudes whole and in order. */
static void check_live(bd_live *lv, reader_state *r) {
    const bd_status *st = &lv->st;
    if (st->state == BD_RUN_RUNNING) {
        char want[64];
        snprintf(want, sizeof want, "status %ld", st->step);
        assert_int_equal(st->total, 2 * st->step);
        assert_true(st->loss == (double)st->step);
        assert_string_equal(st->message, want);
        assert_true(st->step >= r->last_status);
        r->last_status = st->step;
    }
    while (r->logs < lv->n_logs) {
        long back = lv->n_logs - 1 - r->logs;
        const char *line = bd_live_log(lv, back);
        r->logs++;
        if (!line) continue; /* older than the ring keeps */
        long v = -1;
        assert_int_equal(sscanf(line, "log %ld", &v), 1);
        assert_true(v > r->last_log);
        assert_int_equal(v % 3, 0);
        r->last_log = v;
    }
    if (lv->have_mag) {
        const bd_mag_snapshot *m = &lv->mag;
        char want[48];
        snprintf(want, sizeof want, "mod%ld", m->step % 5);
        assert_int_equal(m->n, (int)(m->step % 200) + 1);
        assert_string_equal(m->module, want);
        for (int j = 0; j < m->n; j++) {
            assert_true(m->m[j] == (float)(m->step % 1000) + j);
            assert_true(m->m0[j] == (float)j);
        }
        r->mags++;
    }
}

static void test_two_threads(void **state) {
    (void)state;
    shared *sh = calloc(1, sizeof *sh);
    bd_live *lv = calloc(1, sizeof *lv);
    reader_state *r = calloc(1, sizeof *r);
    assert_non_null(sh);
    assert_non_null(lv);
    assert_non_null(r);
    assert_int_equal(bd_channel_init(&sh->ch), 0);
    bd_live_init(lv);
    r->last_index = r->last_log = -1;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, writer, sh), 0);
    int done = 0, polls = 0;
    while (!done) {
        pthread_mutex_lock(&sh->ch.mu);
        done = sh->done;
        pthread_mutex_unlock(&sh->ch.mu);
        read_raw(&sh->ch, r);
        bd_live_poll(lv, &sh->ch);
        check_live(lv, r);
        bd_live_select_mag(&sh->ch, polls % 6, polls % 2); /* the viewer moves its selection */
        polls++;
    }
    pthread_join(th, NULL);
    read_raw(&sh->ch, r);
    bd_live_poll(lv, &sh->ch);
    check_live(lv, r);
    /* every record was either read or counted lost, by both readers */
    assert_int_equal(r->seen + r->lost, N_METRICS);
    long live_points = 0;
    for (int k = 0; k < PER_STEP; k++) {
        char name[16];
        snprintf(name, sizeof name, "m/%d", k);
        const bd_series *s = bd_run_data_find(&lv->data, name);
        assert_non_null(s);
        for (int i = 1; i < s->n; i++) assert_true(s->x[i] > s->x[i - 1]);
        for (int i = 0; i < s->n; i++) assert_true(s->y[i] == value_of((long)s->x[i], k));
        assert_true(s->x[s->n - 1] == (double)((N_METRICS - 1) / PER_STEP)); /* the newest arrived */
        live_points += s->n;
    }
    assert_int_equal(live_points + lv->lost, N_METRICS);
    assert_int_equal(lv->st.step, (N_METRICS - 1) / PER_STEP);
    assert_true(r->mags > 0);
    fprintf(stderr, "channel stress: %d polls, raw reader lost %ld of %ld, live reader lost %ld\n", polls, r->lost,
            N_METRICS, lv->lost);
    bd_live_free(lv);
    bd_channel_destroy(&sh->ch);
    free(sh);
    free(lv);
    free(r);
}

/* Pause blocks the trainer within one step; stop wakes a paused trainer. */
typedef struct pause_state { bd_channel ch; long steps; int stopped; } pause_state;

static void *stepper(void *arg) {
    pause_state *p = arg;
    for (;;) {
        if (bd_channel_wait_if_paused(&p->ch)) break;
        pthread_mutex_lock(&p->ch.mu);
        p->steps++;
        pthread_mutex_unlock(&p->ch.mu);
    }
    pthread_mutex_lock(&p->ch.mu);
    p->stopped = 1;
    pthread_mutex_unlock(&p->ch.mu);
    return NULL;
}

static long steps_of(pause_state *p) {
    pthread_mutex_lock(&p->ch.mu);
    long s = p->steps;
    pthread_mutex_unlock(&p->ch.mu);
    return s;
}

static void test_pause_stop(void **state) {
    (void)state;
    pause_state *p = calloc(1, sizeof *p);
    bd_channel_init(&p->ch);
    pthread_t th;
    pthread_create(&th, NULL, stepper, p);
    while (steps_of(p) < 100) {}
    bd_channel_pause(&p->ch, 1);
    long a = steps_of(p);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    long b = steps_of(p), c;
    nanosleep(&ts, NULL);
    c = steps_of(p);
    assert_true(b <= a + 1); /* at most the step in flight */
    assert_int_equal(b, c);
    bd_channel_pause(&p->ch, 0);
    while (steps_of(p) < c + 100) {}
    bd_channel_pause(&p->ch, 1);
    bd_channel_stop(&p->ch); /* a paused trainer must still see a stop */
    pthread_join(th, NULL);
    assert_true(p->stopped);
    bd_channel_destroy(&p->ch);
    free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_pause_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
