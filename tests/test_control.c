/* The control socket (src/train/control.h) on a bare channel, with no
 * trainer: this thread plays the trainer (publishes status, logs and
 * magnitude snapshots, reads the command flags) and the client functions
 * talk to the server thread through a real Unix socket. Checks every
 * command's effect on the channel, the subscription's events, two clients
 * at once, the socket's mode, a run directory longer than sun_path, the
 * removal of a stale socket, the "end" event and the socket's removal on
 * close. Must pass under ThreadSanitizer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "channel.h"
#include "control.h"
#include "model.h"
#include "runlock.h"

static char root[256];

static int setup(void **state) {
    (void)state;
    snprintf(root, sizeof root, "/tmp/bd_control_XXXXXX");
    assert_non_null(mkdtemp(root));
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void publish(bd_channel *ch, bd_run_state s, long step) {
    bd_status st;
    memset(&st, 0, sizeof st);
    st.state = s;
    st.step = step;
    st.total = 100;
    st.phase = 1;
    st.loss = 0.5;
    st.steps_per_s = 10;
    st.eta_s = (100 - step) / 10.0;
    st.pid = (long)getpid();
    st.started = 1700000000;
    snprintf(st.method, sizeof st.method, "bidora");
    snprintf(st.backend, sizeof st.backend, "cpu");
    snprintf(st.device, sizeof st.device, "CPU \"quoted\" device");
    snprintf(st.run_dir, sizeof st.run_dir, "%s", root);
    bd_channel_status(ch, &st);
}

static void publish_mag(bd_channel *ch, long step, int n) {
    pthread_mutex_lock(&ch->mu);
    int back = 1 - ch->mag_front, layer = ch->want_mag_layer;
    pthread_mutex_unlock(&ch->mu);
    bd_mag_snapshot *s = &ch->mag[back];
    s->step = step;
    s->layer = layer;
    s->n = n;
    snprintf(s->module, sizeof s->module, "value");
    for (int i = 0; i < n; i++) {
        s->m[i] = 1.0f + (float)i / 4;
        s->m0[i] = 1.0f;
    }
    pthread_mutex_lock(&ch->mu);
    ch->mag_front = back;
    pthread_mutex_unlock(&ch->mu);
}

/* The next event of a type (others skipped), within 5 s. */
static json_t *next_of(bd_ctl_conn *c, const char *type) {
    bd_err e = {{0}};
    for (int i = 0; i < 1000; i++) {
        json_t *j;
        int r = bd_ctl_next(c, 5000, &j, &e);
        if (r) { print_error("waiting for \"%s\": %s\n", type, r > 0 ? "timeout" : e.msg); return NULL; }
        const char *t = json_string_value(json_object_get(j, "type"));
        if (t && !strcmp(t, type)) return j;
        json_decref(j);
    }
    return NULL;
}

static void test_commands(void **state) {
    (void)state;
    bd_channel ch;
    assert_int_equal(bd_channel_init(&ch), 0);
    publish(&ch, BD_RUN_RUNNING, 7);
    bd_control *srv;
    bd_err e = {{0}};
    char note[256];
    assert_int_equal(bd_control_open(&srv, root, &ch, note, sizeof note, &e), 0);
    assert_string_equal(note, "");
    char path[400];
    snprintf(path, sizeof path, "%s/control.sock", root);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);

    bd_ctl_conn c;
    assert_int_equal(bd_ctl_connect(&c, root, &e), 0);
    json_t *j;
    assert_int_equal(bd_ctl_call(&c, "status", 5000, &j, &e), 0);
    bd_status got;
    bd_ctl_status_from_json(j, &got);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "status");
    assert_int_equal(got.state, BD_RUN_RUNNING);
    assert_int_equal(got.step, 7);
    assert_int_equal(got.total, 100);
    assert_int_equal(got.pid, (long)getpid());
    assert_int_equal(got.started, 1700000000);
    assert_string_equal(got.method, "bidora");
    assert_string_equal(got.device, "CPU \"quoted\" device");
    assert_string_equal(got.run_dir, root);
    json_decref(j);

    assert_int_equal(bd_channel_pause_requested(&ch), 0);
    assert_int_equal(bd_ctl_call(&c, "pause", 5000, &j, &e), 0);
    json_decref(j);
    assert_int_equal(bd_channel_pause_requested(&ch), 1);
    assert_int_equal(bd_ctl_call(&c, "resume", 5000, &j, &e), 0);
    json_decref(j);
    assert_int_equal(bd_channel_pause_requested(&ch), 0);
    assert_int_equal(bd_ctl_call(&c, "checkpoint", 5000, &j, &e), 0);
    json_decref(j);
    assert_int_equal(bd_channel_take_save(&ch), 1);
    assert_int_equal(bd_ctl_call(&c, "mag 3 value", 5000, &j, &e), 0);
    json_decref(j);
    pthread_mutex_lock(&ch.mu);
    int wl = ch.want_mag_layer, wk = ch.want_mag_module;
    pthread_mutex_unlock(&ch.mu);
    assert_int_equal(wl, 3);
    assert_string_equal(bd_mod_names[wk], "value");
    /* refused, each with one error line naming what is wrong */
    assert_int_equal(bd_ctl_call(&c, "mag 1 nosuch", 5000, &j, &e), -1);
    assert_non_null(strstr(e.msg, "unknown module \"nosuch\""));
    assert_int_equal(bd_ctl_call(&c, "mag x", 5000, &j, &e), -1);
    assert_non_null(strstr(e.msg, "mag LAYER MODULE"));
    assert_int_equal(bd_ctl_call(&c, "frobnicate now", 5000, &j, &e), -1);
    assert_non_null(strstr(e.msg, "unknown command \"frobnicate\""));
    assert_int_equal(bd_ctl_call(&c, "help", 5000, &j, &e), 0);
    assert_int_equal(json_array_size(json_object_get(j, "commands")), 8);
    json_decref(j);
    assert_int_equal(bd_channel_stop_requested(&ch), 0);
    assert_int_equal(bd_ctl_call(&c, "stop", 5000, &j, &e), 0);
    json_decref(j);
    assert_int_equal(bd_channel_stop_requested(&ch), 1);
    bd_ctl_close(&c);
    bd_control_close(srv);
    assert_int_equal(access(path, F_OK), -1); /* the socket goes with the server */
    assert_int_equal(bd_ctl_connect(&c, root, &e), -1);
    assert_non_null(strstr(e.msg, "not live"));
    bd_channel_destroy(&ch);
}

static void test_subscribe_two_viewers(void **state) {
    (void)state;
    bd_channel ch;
    assert_int_equal(bd_channel_init(&ch), 0);
    publish(&ch, BD_RUN_RUNNING, 1);
    for (int i = 0; i < 150; i++) bd_channel_log(&ch, "old line %d", i);
    bd_control *srv;
    bd_err e = {{0}};
    assert_int_equal(bd_control_open(&srv, root, &ch, NULL, 0, &e), 0);
    bd_ctl_conn a, b;
    assert_int_equal(bd_ctl_connect(&a, root, &e), 0);
    assert_int_equal(bd_ctl_connect(&b, root, &e), 0);
    json_t *j;
    assert_int_equal(bd_ctl_call(&a, "subscribe", 5000, &j, &e), 0);
    json_decref(j);
    /* the first events: the status, then the last 100 log lines */
    j = next_of(&a, "status");
    assert_non_null(j);
    json_decref(j);
    j = next_of(&a, "log");
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "line")), "old line 50");
    json_decref(j);
    assert_int_equal(bd_ctl_call(&b, "subscribe", 5000, &j, &e), 0);
    json_decref(j);
    /* new lines, a state change and a snapshot reach both viewers */
    bd_channel_log(&ch, "fresh line");
    publish(&ch, BD_RUN_PAUSED, 2);
    publish_mag(&ch, 2, 5);
    bd_ctl_conn *v[2] = {&a, &b};
    for (int k = 0; k < 2; k++) {
        int seen_line = 0;
        for (int i = 0; i < 200 && !seen_line; i++) {
            j = next_of(v[k], "log");
            assert_non_null(j);
            seen_line = !strcmp(json_string_value(json_object_get(j, "line")), "fresh line");
            json_decref(j);
        }
        assert_true(seen_line);
        bd_status st;
        do {
            j = next_of(v[k], "status");
            assert_non_null(j);
            bd_ctl_status_from_json(j, &st);
            json_decref(j);
        } while (st.state != BD_RUN_PAUSED);
        assert_int_equal(st.step, 2);
        j = next_of(v[k], "mag");
        assert_non_null(j);
        assert_int_equal(json_integer_value(json_object_get(j, "step")), 2);
        assert_string_equal(json_string_value(json_object_get(j, "module")), "value");
        const json_t *m = json_object_get(j, "m");
        assert_int_equal(json_array_size(m), 5);
        assert_float_equal(json_number_value(json_array_get(m, 4)), 2.0, 1e-6);
        json_decref(j);
    }
    /* a viewer that leaves does not disturb the other; the end reaches the one left */
    bd_ctl_close(&b);
    publish(&ch, BD_RUN_STOPPED, 3);
    bd_control_close(srv);
    bd_status st;
    j = next_of(&a, "end");
    assert_non_null(j);
    bd_ctl_status_from_json(j, &st);
    json_decref(j);
    assert_int_equal(st.state, BD_RUN_STOPPED);
    assert_int_equal(st.step, 3);
    assert_int_equal(bd_ctl_next(&a, 5000, &j, &e), -1); /* then EOF */
    assert_non_null(strstr(e.msg, "the run ended"));
    bd_ctl_close(&a);
    bd_channel_destroy(&ch);
}

/* A run directory longer than sun_path (108 bytes) still gets its socket. */
static void test_long_path(void **state) {
    (void)state;
    char dir[400];
    snprintf(dir, sizeof dir, "%s/%s", root,
             "a-run-directory-name-long-enough-to-overflow-sun-path-which-holds-only-108-bytes-0123456789");
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_true(strlen(dir) + strlen("/control.sock") >= sizeof(((struct sockaddr_un *)0)->sun_path));
    bd_channel ch;
    assert_int_equal(bd_channel_init(&ch), 0);
    publish(&ch, BD_RUN_RUNNING, 5);
    bd_control *srv;
    bd_err e = {{0}};
    assert_int_equal(bd_control_open(&srv, dir, &ch, NULL, 0, &e), 0);
    bd_ctl_conn c;
    assert_int_equal(bd_ctl_connect(&c, dir, &e), 0);
    json_t *j;
    assert_int_equal(bd_ctl_call(&c, "status", 5000, &j, &e), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "step")), 5);
    json_decref(j);
    bd_ctl_close(&c);
    bd_control_close(srv);
    char path[600];
    snprintf(path, sizeof path, "%s/control.sock", dir);
    assert_int_equal(access(path, F_OK), -1);
    bd_channel_destroy(&ch);
}

/* A socket file nobody listens on (a killed server): the client says the
 * run is not live and removes it; a new server removes it too, and says so. */
static void test_stale_socket(void **state) {
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/control.sock", root);
    for (int round = 0; round < 2; round++) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        assert_true(strlen(path) < sizeof sa.sun_path);
        memcpy(sa.sun_path, path, strlen(path) + 1);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        close(fd); /* the file stays, nobody listens */
        bd_err e = {{0}};
        if (round == 0) {
            bd_ctl_conn c;
            assert_int_equal(bd_ctl_connect(&c, root, &e), -1);
            assert_non_null(strstr(e.msg, "not live (removed the stale control.sock"));
            assert_int_equal(access(path, F_OK), -1);
        } else {
            bd_channel ch;
            assert_int_equal(bd_channel_init(&ch), 0);
            bd_control *srv;
            char note[256];
            assert_int_equal(bd_control_open(&srv, root, &ch, note, sizeof note, &e), 0);
            assert_non_null(strstr(note, "removed a stale control.sock"));
            bd_ctl_conn c;
            assert_int_equal(bd_ctl_connect(&c, root, &e), 0);
            bd_ctl_close(&c);
            bd_control_close(srv);
            bd_channel_destroy(&ch);
        }
    }
    /* held by a live process but not served: said so, and nothing removed */
    bd_runlock l;
    bd_err e = {{0}};
    assert_int_equal(bd_runlock_take(&l, root, &e), 0);
    bd_ctl_conn c;
    assert_int_equal(bd_ctl_connect(&c, root, &e), -1);
    assert_non_null(strstr(e.msg, "holds the run but serves no control.sock"));
    bd_runlock_release(&l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscribe_two_viewers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_socket, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
