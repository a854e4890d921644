/* control.c: see control.h. One thread polls the listening socket, a wake
 * pipe and every connection (at most BD_CTL_CLIENTS), at least every
 * POLL_MS to forward what the channel gained (log lines, status changes,
 * magnitude snapshots) to subscribers. Connections are non-blocking; each
 * has an output buffer, and one that lets OUT_MAX bytes pile up (a viewer
 * that stopped reading) is dropped, so the trainer never waits on one. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "model.h"
#include "runlock.h"

#define BD_CTL_CLIENTS 16
#define POLL_MS 100
#define IN_MAX 1024           /* a command line */
#define OUT_MAX (8u << 20)    /* unread output before a connection is dropped */
#define BACKLOG_LOGS 100      /* log lines a new subscriber gets */
#define STATUS_MIN_S 0.25     /* status events at most 4 a second (state changes at once) */

static const char *const state_names[] = {"idle", "loading", "running", "paused", "done", "stopped", "failed"};

const char *bd_run_state_name(bd_run_state s) {
    return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s] : "?";
}

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- the socket's address ---- */

/* sun_path holds 108 bytes: a longer run directory is reached through
 * /proc/self/fd/DIRFD/control.sock, DIRFD an O_PATH descriptor of it
 * (*dirfd, closed by the caller; -1 when the plain path fits). */
static int sock_addr(struct sockaddr_un *sa, const char *run_dir, int *dirfd, bd_err *e) {
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    *dirfd = -1;
    int n = snprintf(sa->sun_path, sizeof sa->sun_path, "%s/%s", run_dir, BD_CONTROL_SOCK);
    if (n > 0 && n < (int)sizeof sa->sun_path) return 0;
    *dirfd = open(run_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*dirfd < 0) return bd_errf(e, "%s: cannot open: %s", run_dir, strerror(errno));
    snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/%s", *dirfd, BD_CONTROL_SOCK);
    return 0;
}

/* ---- the server ---- */

typedef struct client {
    int fd;
    int subscribed;
    long next_log;            /* the channel's log lines sent so far */
    long mag_step;            /* the last magnitude snapshot sent (step, layer, module) */
    int mag_layer;
    char mag_module[48];
    char in[IN_MAX];
    size_t in_len;
    char *out;
    size_t out_len, out_cap;
    int dead;
} client;

struct bd_control {
    pthread_t th;
    int started;
    int lfd, wake[2];
    bd_channel *ch;
    char dir[4096], path[4200];
    int dirfd;                /* for a run directory too long for sun_path, else -1 */
    client cl[BD_CTL_CLIENTS];
    int n;
    bd_status last;           /* the status last sent to subscribers */
    double last_sent;
    int quit;                 /* guarded by ch->mu */
};

/* A line in log.txt (as the trainer writes them, less its clock) and on the channel. */
static void ctl_log(bd_control *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ctl_log(bd_control *c, const char *fmt, ...) {
    char line[BD_CH_LOGLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    bd_run_log_line(c->dir, "control", line); /* never creates log.txt: a failed set-up leaves no directory */
    bd_channel_log(c->ch, "%s", line);
}

static void put(client *k, const char *s, size_t n) {
    if (k->dead) return;
    if (k->out_len + n + 1 > OUT_MAX) { k->dead = 1; return; } /* not reading: dropped */
    if (k->out_len + n + 1 > k->out_cap) {
        size_t cap = k->out_cap ? k->out_cap : 4096;
        while (cap < k->out_len + n + 1) cap *= 2;
        char *p = realloc(k->out, cap);
        if (!p) { k->dead = 1; return; }
        k->out = p;
        k->out_cap = cap;
    }
    memcpy(k->out + k->out_len, s, n);
    k->out_len += n;
    k->out[k->out_len++] = '\n';
}

/* One JSON object as a line (the object is released). */
static void put_json(client *k, json_t *j) {
    if (!j) { k->dead = 1; return; }
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s) { k->dead = 1; return; }
    put(k, s, strlen(s));
    free(s);
}

static void put_ok(client *k, const char *cmd) { put_json(k, json_pack("{s:s,s:s}", "type", "ok", "cmd", cmd)); }

static void put_error(client *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_error(client *k, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    put_json(k, json_pack("{s:s,s:s}", "type", "error", "message", msg));
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* The status as the server sends it ("type" first). */
static json_t *status_json(const char *type, const bd_status *st) {
    json_t *j = json_object();
    if (!j) return NULL;
    json_object_set_new(j, "type", json_string(type));
    json_object_set_new(j, "state", json_string(bd_run_state_name(st->state)));
    json_object_set_new(j, "step", json_integer(st->step));
    json_object_set_new(j, "total", json_integer(st->total));
    json_object_set_new(j, "phase", json_integer(st->phase ? st->phase : 1));
    json_object_set_new(j, "loss", num(st->loss));
    json_object_set_new(j, "steps_per_s", num(st->steps_per_s));
    json_object_set_new(j, "eta_s", num(st->eta_s));
    json_object_set_new(j, "elapsed_s", num(st->elapsed_s));
    json_object_set_new(j, "mem_bytes", json_integer((json_int_t)st->mem_bytes));
    json_object_set_new(j, "method", json_string(st->method));
    json_object_set_new(j, "backend", json_string(st->backend));
    json_object_set_new(j, "device", json_string(st->device));
    json_object_set_new(j, "pid", json_integer(st->pid));
    json_object_set_new(j, "started", json_integer(st->started));
    json_object_set_new(j, "run_dir", json_string(st->run_dir));
    json_object_set_new(j, "message", json_string(st->message));
    return j;
}

static void send_status(bd_control *c, client *k, const char *type) {
    bd_status st;
    bd_channel_get_status(c->ch, &st);
    if (!st.pid) st.pid = (long)getpid(); /* before the trainer's first publish */
    put_json(k, status_json(type, &st));
}

/* Log lines from *next on (the channel's ring keeps the last BD_CH_LOGS). */
static void send_logs(bd_control *c, client *k) {
    char lines[32][BD_CH_LOGLEN];
    int n;
    while ((n = bd_channel_read_logs(c->ch, &k->next_log, lines, 32)) > 0)
        for (int i = 0; i < n; i++) put_json(k, json_pack("{s:s,s:s}", "type", "log", "line", lines[i]));
}

/* The trainer's complete magnitude snapshot, when it is not the one last sent. */
static void send_mag(bd_control *c, client *k) {
    bd_channel *ch = c->ch;
    pthread_mutex_lock(&ch->mu);
    const bd_mag_snapshot *s = &ch->mag[ch->mag_front];
    json_t *j = NULL;
    if (s->n > 0 && (s->step != k->mag_step || s->layer != k->mag_layer || strcmp(s->module, k->mag_module))) {
        json_t *m = json_array(), *m0 = json_array();
        for (int i = 0; i < s->n; i++) {
            json_array_append_new(m, json_real(s->m[i]));
            json_array_append_new(m0, json_real(s->m0[i]));
        }
        j = json_pack("{s:s,s:I,s:i,s:s,s:o,s:o}", "type", "mag", "step", (json_int_t)s->step, "layer", s->layer,
                      "module", s->module, "m", m, "m0", m0);
        k->mag_step = s->step;
        k->mag_layer = s->layer;
        snprintf(k->mag_module, sizeof k->mag_module, "%s", s->module);
    }
    pthread_mutex_unlock(&ch->mu);
    if (j) put_json(k, j);
}

static void command(bd_control *c, client *k, char *line) {
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t')) line[--n] = '\0';
    char *cmd = line;
    while (*cmd == ' ' || *cmd == '\t') cmd++;
    char *arg = cmd + strcspn(cmd, " \t");
    if (*arg) *arg++ = '\0';
    while (*arg == ' ' || *arg == '\t') arg++;
    if (!*cmd) return;
    if (!strcmp(cmd, "status")) {
        send_status(c, k, "status");
    } else if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume")) {
        bd_channel_pause(c->ch, cmd[0] == 'p');
        put_ok(k, cmd);
    } else if (!strcmp(cmd, "stop")) {
        bd_channel_stop(c->ch);
        put_ok(k, cmd);
    } else if (!strcmp(cmd, "checkpoint")) {
        bd_channel_save(c->ch);
        put_ok(k, cmd);
    } else if (!strcmp(cmd, "mag")) {
        char module[48];
        int layer, mod = -1;
        if (sscanf(arg, "%d %47s", &layer, module) != 2 || layer < 0) {
            put_error(k, "mag: expected \"mag LAYER MODULE\" (a layer number and query, key, value, ...)");
            return;
        }
        for (int i = 0; i < BD_N_MODS; i++) if (!strcmp(module, bd_mod_names[i])) mod = i;
        if (mod < 0) { put_error(k, "mag: unknown module \"%s\"", module); return; }
        pthread_mutex_lock(&c->ch->mu);
        c->ch->want_mag_layer = layer;
        c->ch->want_mag_module = mod;
        pthread_mutex_unlock(&c->ch->mu);
        put_ok(k, cmd);
    } else if (!strcmp(cmd, "subscribe")) {
        put_ok(k, cmd);
        k->subscribed = 1;
        pthread_mutex_lock(&c->ch->mu);
        long n_logs = c->ch->n_logs;
        pthread_mutex_unlock(&c->ch->mu);
        k->next_log = n_logs > BACKLOG_LOGS ? n_logs - BACKLOG_LOGS : 0;
        k->mag_step = -1;
        send_status(c, k, "status");
        send_logs(c, k);
        send_mag(c, k);
    } else if (!strcmp(cmd, "help")) {
        put_json(k, json_pack("{s:s,s:s,s:[s,s,s,s,s,s,s,s]}", "type", "ok", "cmd", "help", "commands", "status",
                              "pause", "resume", "stop", "checkpoint", "mag LAYER MODULE", "subscribe", "help"));
    } else {
        char shown[64];
        snprintf(shown, sizeof shown, "%s", cmd);
        put_error(k, "unknown command \"%s\" (help lists them)", shown);
    }
}

static void client_free(client *k) {
    if (k->fd >= 0) close(k->fd);
    free(k->out);
    memset(k, 0, sizeof *k);
    k->fd = -1;
}

static void accept_one(bd_control *c) {
    int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    struct ucred cr;
    socklen_t len = sizeof cr;
    uid_t me = geteuid();
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || cr.uid != me) {
        char msg[256];
        int k = snprintf(msg, sizeof msg,
                         "{\"type\":\"error\",\"message\":\"permission denied: uid %ld does not own this run (uid %ld does)\"}\n",
                         len == sizeof cr ? (long)cr.uid : -1L, (long)me);
        if (send(fd, msg, (size_t)k, MSG_NOSIGNAL | MSG_DONTWAIT) != k) { /* it is refused either way */ }
        close(fd);
        ctl_log(c, "refused a connection from uid %ld (pid %ld): only uid %ld may control this run",
                len == sizeof cr ? (long)cr.uid : -1L, len == sizeof cr ? (long)cr.pid : -1L, (long)me);
        return;
    }
    if (c->n == BD_CTL_CLIENTS) {
        static const char full[] = "{\"type\":\"error\",\"message\":\"too many connections (16)\"}\n";
        if (send(fd, full, sizeof full - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) { /* refused either way */ }
        close(fd);
        return;
    }
    client *k = &c->cl[c->n++];
    memset(k, 0, sizeof *k);
    k->fd = fd;
    k->mag_step = -1;
}

static void read_client(bd_control *c, client *k) {
    for (;;) {
        ssize_t r = recv(k->fd, k->in + k->in_len, sizeof k->in - 1 - k->in_len, 0);
        if (r == 0) { k->dead = 1; return; }
        if (r < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) k->dead = 1;
            return;
        }
        k->in_len += (size_t)r;
        k->in[k->in_len] = '\0';
        char *nl;
        while ((nl = memchr(k->in, '\n', k->in_len))) {
            *nl = '\0';
            command(c, k, k->in);
            size_t used = (size_t)(nl + 1 - k->in);
            memmove(k->in, nl + 1, k->in_len - used);
            k->in_len -= used;
        }
        if (k->in_len == sizeof k->in - 1) { put_error(k, "command line longer than %d bytes", IN_MAX - 1); k->in_len = 0; }
    }
}

static void flush_client(client *k) {
    while (k->out_len && !k->dead) {
        ssize_t w = send(k->fd, k->out, k->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) k->dead = 1;
            return;
        }
        memmove(k->out, k->out + w, k->out_len - (size_t)w);
        k->out_len -= (size_t)w;
    }
}

/* What subscribers are owed since the last round. */
static void forward(bd_control *c) {
    bd_status st;
    bd_channel_get_status(c->ch, &st);
    double now = mono_s();
    int changed = st.state != c->last.state || st.phase != c->last.phase ||
                  (st.step != c->last.step && now - c->last_sent >= STATUS_MIN_S);
    if (changed) {
        c->last = st;
        c->last_sent = now;
    }
    for (int i = 0; i < c->n; i++) {
        client *k = &c->cl[i];
        if (!k->subscribed) continue;
        send_logs(c, k);
        if (changed) send_status(c, k, "status");
        send_mag(c, k);
    }
}

static int quitting(bd_control *c) {
    pthread_mutex_lock(&c->ch->mu);
    int q = c->quit;
    pthread_mutex_unlock(&c->ch->mu);
    return q;
}

static void *serve(void *arg) {
    bd_control *c = arg;
    struct pollfd pf[BD_CTL_CLIENTS + 2];
    while (!quitting(c)) {
        pf[0] = (struct pollfd){c->lfd, POLLIN, 0};
        pf[1] = (struct pollfd){c->wake[0], POLLIN, 0};
        for (int i = 0; i < c->n; i++)
            pf[2 + i] = (struct pollfd){c->cl[i].fd, (short)(POLLIN | (c->cl[i].out_len ? POLLOUT : 0)), 0};
        int n = c->n;
        if (poll(pf, (nfds_t)(2 + n), POLL_MS) < 0 && errno != EINTR) break;
        if (pf[1].revents & POLLIN) {
            char b[64];
            if (read(c->wake[0], b, sizeof b) < 0) { /* drained; quit is re-read above */ }
        }
        for (int i = 0; i < n; i++) {
            client *k = &c->cl[i];
            if (pf[2 + i].revents & (POLLIN | POLLHUP | POLLERR)) read_client(c, k);
        }
        if (pf[0].revents & POLLIN) accept_one(c);
        forward(c);
        for (int i = 0; i < c->n; i++) flush_client(&c->cl[i]);
        for (int i = 0; i < c->n;) { /* drop the dead, keep the order of the rest */
            if (!c->cl[i].dead) { i++; continue; }
            client_free(&c->cl[i]);
            memmove(&c->cl[i], &c->cl[i + 1], sizeof c->cl[0] * (size_t)(c->n - i - 1));
            c->n--;
        }
    }
    /* the run is over: what is left, then "end" with the final status */
    forward(c);
    for (int i = 0; i < c->n; i++) {
        client *k = &c->cl[i];
        if (k->subscribed) send_status(c, k, "end");
        int fl = fcntl(k->fd, F_GETFL);
        if (fl >= 0) fcntl(k->fd, F_SETFL, fl & ~O_NONBLOCK);
        struct timeval tv = {1, 0}; /* a viewer gets a second to take the last lines */
        setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        flush_client(k);
        client_free(k);
    }
    c->n = 0;
    return NULL;
}

int bd_control_open(bd_control **out, const char *run_dir, bd_channel *ch, char *note, size_t note_n, bd_err *e) {
    *out = NULL;
    if (note && note_n) note[0] = '\0';
    bd_control *c = calloc(1, sizeof *c);
    if (!c) return bd_errf(e, "out of memory");
    c->ch = ch;
    c->lfd = c->wake[0] = c->wake[1] = c->dirfd = -1;
    for (int i = 0; i < BD_CTL_CLIENTS; i++) c->cl[i].fd = -1;
    c->last.state = (bd_run_state)-1;
    snprintf(c->dir, sizeof c->dir, "%s", run_dir);
    if (bd_path(c->path, sizeof c->path, e, "%s/%s", run_dir, BD_CONTROL_SOCK)) goto fail;
    struct sockaddr_un sa;
    if (sock_addr(&sa, run_dir, &c->dirfd, e)) goto fail;
    /* we hold the lock: a socket file here belongs to a process that died */
    if (unlink(c->path) == 0 && note && note_n)
        snprintf(note, note_n, "removed a stale %s left by a killed process", BD_CONTROL_SOCK);
    c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->lfd < 0) { bd_errf(e, "%s: cannot create a socket: %s", c->path, strerror(errno)); goto fail; }
    if (bind(c->lfd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        bd_errf(e, "%s: cannot bind: %s", c->path, strerror(errno));
        goto fail;
    }
    /* owner only, before listen(): no connection can arrive in between */
    if (chmod(c->path, 0600) != 0) { bd_errf(e, "%s: cannot chmod: %s", c->path, strerror(errno)); goto unlink_fail; }
    if (listen(c->lfd, 8) != 0) { bd_errf(e, "%s: cannot listen: %s", c->path, strerror(errno)); goto unlink_fail; }
    if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) != 0) { bd_errf(e, "cannot create a pipe: %s", strerror(errno)); goto unlink_fail; }
    /* the server thread takes no signals: they belong to the viewer's thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&c->th, NULL, serve, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) { bd_errf(e, "cannot start the control thread: %s", strerror(rc)); goto unlink_fail; }
    c->started = 1;
    *out = c;
    return 0;
unlink_fail:
    unlink(c->path);
fail:
    bd_control_close(c);
    return -1;
}

void bd_control_close(bd_control *c) {
    if (!c) return;
    if (c->started) {
        pthread_mutex_lock(&c->ch->mu);
        c->quit = 1;
        pthread_mutex_unlock(&c->ch->mu);
        if (write(c->wake[1], "q", 1) < 0) { /* the poll period wakes it anyway */ }
        pthread_join(c->th, NULL);
        unlink(c->path); /* before the lock goes: a new holder's socket is never removed */
    }
    if (c->lfd >= 0) close(c->lfd);
    for (int i = 0; i < 2; i++) if (c->wake[i] >= 0) close(c->wake[i]);
    if (c->dirfd >= 0) close(c->dirfd);
    for (int i = 0; i < c->n; i++) client_free(&c->cl[i]);
    free(c);
}

/* ---- the client ---- */

int bd_ctl_connect(bd_ctl_conn *c, const char *run_dir, bd_err *e) {
    memset(c, 0, sizeof *c);
    c->fd = -1;
    struct sockaddr_un sa;
    int dirfd;
    if (sock_addr(&sa, run_dir, &dirfd, e)) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        if (dirfd >= 0) close(dirfd);
        return bd_errf(e, "cannot create a socket: %s", strerror(errno));
    }
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa), er = errno;
    if (dirfd >= 0) close(dirfd);
    if (rc == 0) {
        c->fd = fd;
        return 0;
    }
    close(fd);
    if (er == ECONNREFUSED) {
        /* a socket file with nobody listening: stale when the lock is free */
        bd_runlock l;
        bd_err le;
        if (bd_runlock_take(&l, run_dir, &le) == 0) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", run_dir, BD_CONTROL_SOCK);
            unlink(path);
            bd_runlock_release(&l);
            return bd_errf(e, "%s: not live (removed the stale %s of a process that is gone)", run_dir, BD_CONTROL_SOCK);
        }
    }
    if (er == ENOENT || er == ECONNREFUSED) {
        long pid = bd_runlock_holder(run_dir);
        if (pid != 0)
            return bd_errf(e, "%s: pid %ld holds the run but serves no %s (still loading, or an older bidora)", run_dir, pid,
                           BD_CONTROL_SOCK);
        return bd_errf(e, "%s: not live (no process serves %s/%s)", run_dir, run_dir, BD_CONTROL_SOCK);
    }
    if (er == EACCES || er == EPERM)
        return bd_errf(e, "%s/%s: permission denied (the run belongs to another user)", run_dir, BD_CONTROL_SOCK);
    return bd_errf(e, "%s/%s: cannot connect: %s", run_dir, BD_CONTROL_SOCK, strerror(er));
}

void bd_ctl_close(bd_ctl_conn *c) {
    if (c->fd >= 0) close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

int bd_ctl_send(bd_ctl_conn *c, const char *cmd, bd_err *e) {
    char line[IN_MAX];
    int n = snprintf(line, sizeof line, "%s\n", cmd);
    if (n >= (int)sizeof line) return bd_errf(e, "command too long");
    for (int off = 0; off < n;) {
        ssize_t w = send(c->fd, line + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            int er = errno;
            /* closed on us: a refused connection gets one error line first */
            json_t *j;
            bd_err ne;
            if (bd_ctl_next(c, 200, &j, &ne) == 0) {
                const char *type = json_string_value(json_object_get(j, "type"));
                const char *m = json_string_value(json_object_get(j, "message"));
                int refused = type && !strcmp(type, "error") && m;
                if (refused) bd_errf(e, "%s", m);
                json_decref(j);
                if (refused) return -1;
            }
            return bd_errf(e, "the run's control socket: %s", er == EPIPE ? "the run ended" : strerror(er));
        }
        off += (int)w;
    }
    return 0;
}

int bd_ctl_next(bd_ctl_conn *c, int timeout_ms, json_t **out, bd_err *e) {
    *out = NULL;
    double deadline = mono_s() + timeout_ms / 1e3;
    for (;;) {
        char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            json_error_t je;
            json_t *j = json_loadb(c->buf, n, 0, &je);
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            if (!j || !json_is_object(j)) {
                json_decref(j);
                return bd_errf(e, "the run's control socket sent a line that is not a JSON object");
            }
            *out = j;
            return 0;
        }
        int wait = -1;
        if (timeout_ms >= 0) {
            double left = deadline - mono_s();
            if (left <= 0) return 1;
            wait = (int)(left * 1e3) + 1;
        }
        struct pollfd pf = {c->fd, POLLIN, 0};
        int r = poll(&pf, 1, wait);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return bd_errf(e, "poll: %s", strerror(errno));
        if (r == 0) return 1;
        if (c->cap - c->len < 65536) {
            size_t cap = c->cap ? c->cap * 2 : 131072;
            char *p = realloc(c->buf, cap);
            if (!p) return bd_errf(e, "out of memory");
            c->buf = p;
            c->cap = cap;
        }
        ssize_t got = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return bd_errf(e, "the run's control socket: %s", strerror(errno));
        if (got == 0) return bd_errf(e, "the run ended (its control socket closed)");
        c->len += (size_t)got;
    }
}

int bd_ctl_call(bd_ctl_conn *c, const char *cmd, int timeout_ms, json_t **reply, bd_err *e) {
    *reply = NULL;
    if (bd_ctl_send(c, cmd, e)) return -1;
    double deadline = mono_s() + timeout_ms / 1e3;
    for (;;) {
        int left = timeout_ms < 0 ? -1 : (int)((deadline - mono_s()) * 1e3);
        if (timeout_ms >= 0 && left <= 0) return bd_errf(e, "no answer to \"%s\" within %d ms", cmd, timeout_ms);
        json_t *j;
        int r = bd_ctl_next(c, left, &j, e);
        if (r < 0) return -1;
        if (r == 1) continue;
        const char *type = json_string_value(json_object_get(j, "type"));
        if (type && !strcmp(type, "error")) {
            const char *m = json_string_value(json_object_get(j, "message"));
            bd_errf(e, "%s", m ? m : "error");
            json_decref(j);
            return -1;
        }
        if (type && (!strcmp(type, "ok") || (!strcmp(type, "status") && !strcmp(cmd, "status")))) {
            *reply = j;
            return 0;
        }
        json_decref(j); /* a subscription event */
    }
}

static void copy_str(char *dst, size_t n, const json_t *j, const char *key) {
    const char *s = json_string_value(json_object_get(j, key));
    snprintf(dst, n, "%s", s ? s : "");
}

static double get_num(const json_t *j, const char *key) {
    const json_t *v = json_object_get(j, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

void bd_ctl_status_from_json(const json_t *j, bd_status *st) {
    memset(st, 0, sizeof *st);
    const char *state = json_string_value(json_object_get(j, "state"));
    for (int i = 0; state && i < (int)(sizeof state_names / sizeof state_names[0]); i++)
        if (!strcmp(state, state_names[i])) st->state = (bd_run_state)i;
    st->step = (long)json_integer_value(json_object_get(j, "step"));
    st->total = (long)json_integer_value(json_object_get(j, "total"));
    st->phase = (int)json_integer_value(json_object_get(j, "phase"));
    st->loss = get_num(j, "loss");
    st->steps_per_s = get_num(j, "steps_per_s");
    st->eta_s = get_num(j, "eta_s");
    st->elapsed_s = get_num(j, "elapsed_s");
    st->mem_bytes = (size_t)json_integer_value(json_object_get(j, "mem_bytes"));
    st->pid = (long)json_integer_value(json_object_get(j, "pid"));
    st->started = (long long)json_integer_value(json_object_get(j, "started"));
    copy_str(st->method, sizeof st->method, j, "method");
    copy_str(st->backend, sizeof st->backend, j, "backend");
    copy_str(st->device, sizeof st->device, j, "device");
    copy_str(st->run_dir, sizeof st->run_dir, j, "run_dir");
    copy_str(st->message, sizeof st->message, j, "message");
}
