/* runlock.c: see runlock.h. */
#include "runlock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Try to take an exclusive lock on fd: 0 taken, 1 held by another, -1 error. */
static int try_lock(int fd) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return 0;
    if (errno == EAGAIN || errno == EACCES) return 1;
    if (errno != EINVAL) return -1;
    /* no OFD locks on this kernel: flock() has the same owner semantics */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
    return errno == EWOULDBLOCK ? 1 : -1;
}

/* Is fd's file locked by someone? 1 yes, 0 no. Never takes the lock where
 * OFD locks exist (F_OFD_GETLK only asks). */
static int is_locked(int fd) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_OFD_GETLK, &fl) == 0) return fl.l_type != F_UNLCK;
    if (flock(fd, LOCK_SH | LOCK_NB) != 0) return errno == EWOULDBLOCK;
    flock(fd, LOCK_UN);
    return 0;
}

/* The holder's record: pid, host, start time (zeros when absent). */
static void read_record(int fd, long *pid, char *host, size_t hn, long *started) {
    char buf[512];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    *pid = 0;
    *started = 0;
    if (host && hn) host[0] = '\0';
    char *save = NULL; /* strtok_r: the runs browser and a trainer thread read records at once */
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "pid ", 4)) *pid = strtol(line + 4, NULL, 10);
        else if (!strncmp(line, "started ", 8)) *started = strtol(line + 8, NULL, 10);
        else if (!strncmp(line, "host ", 5) && host && hn) snprintf(host, hn, "%s", line + 5);
    }
}

int bd_runlock_take(bd_runlock *l, const char *run_dir, bd_err *e) {
    memset(l, 0, sizeof *l);
    l->fd = -1;
    if (bd_path(l->path, sizeof l->path, e, "%s/lock", run_dir)) return -1;
    int fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return bd_errf(e, "%s: cannot open the run's lock file: %s", l->path, strerror(errno));
    int r = try_lock(fd);
    long pid, started;
    char host[256];
    read_record(fd, &pid, host, sizeof host, &started);
    if (r == 1) {
        close(fd);
        char when[64] = "?";
        time_t ts = (time_t)started;
        struct tm tm;
        if (started > 0 && localtime_r(&ts, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        if (pid <= 0) return bd_errf(e, "%s: being trained by another process (it is starting; lock file %s)", run_dir, l->path);
        return bd_errf(e, "%s: being trained by pid %ld on %s since %s (lock file %s); wait for it or stop it", run_dir,
                       pid, host[0] ? host : "?", when, l->path);
    }
    if (r < 0) {
        int er = errno;
        close(fd);
        return bd_errf(e, "%s: cannot lock: %s", l->path, strerror(er));
    }
    if (pid > 0) { /* a record without a lock: its process died */
        l->stale_pid = pid;
        snprintf(l->stale_host, sizeof l->stale_host, "%s", host[0] ? host : "?");
    }
    char me[256] = "?", rec[400];
    gethostname(me, sizeof me - 1);
    me[sizeof me - 1] = '\0';
    int n = snprintf(rec, sizeof rec, "pid %ld\nhost %s\nstarted %lld\n", (long)getpid(), me, (long long)time(NULL));
    if (ftruncate(fd, 0) != 0 || pwrite(fd, rec, (size_t)n, 0) != n) {
        int er = errno;
        close(fd);
        return bd_errf(e, "%s: cannot write: %s", l->path, strerror(er));
    }
    l->fd = fd;
    return 0;
}

void bd_runlock_release(bd_runlock *l) {
    if (l->fd < 0) return;
    if (ftruncate(l->fd, 0) != 0) { /* a stale record is harmless: the next taker reports it */ }
    close(l->fd); /* drops the lock */
    l->fd = -1;
}

long bd_runlock_holder(const char *run_dir) {
    char path[4200];
    if (snprintf(path, sizeof path, "%s/lock", run_dir) >= (int)sizeof path) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    long pid = 0, started;
    if (is_locked(fd)) {
        read_record(fd, &pid, NULL, 0, &started);
        if (pid <= 0) pid = -1; /* locked, record not written yet */
    }
    close(fd);
    return pid;
}

/* NAME.tmp.DIGITS */
static int is_temp_name(const char *name) {
    const char *p = strstr(name, ".tmp.");
    if (!p || p == name) return 0;
    p += 5;
    if (!*p) return 0;
    for (; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return 1;
}

int bd_run_remove_temps(const char *run_dir) {
    static const char *const subs[] = {"", "/checkpoint", "/adapter", "/best"};
    int removed = 0;
    for (size_t s = 0; s < sizeof subs / sizeof subs[0]; s++) {
        char dir[4200];
        if (snprintf(dir, sizeof dir, "%s%s", run_dir, subs[s]) >= (int)sizeof dir) continue;
        DIR *d = opendir(dir);
        if (!d) continue;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!is_temp_name(de->d_name)) continue;
            char path[4500];
            struct stat st;
            if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path) continue;
            if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && unlink(path) == 0) removed++;
        }
        closedir(d);
    }
    return removed;
}

void bd_run_log_line(const char *run_dir, const char *tag, const char *line) {
    char path[4200], buf[1024];
    if (snprintf(path, sizeof path, "%s/log.txt", run_dir) >= (int)sizeof path) return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) return;
    int n = snprintf(buf, sizeof buf, "[%s] %s\n", tag, line);
    if (n >= (int)sizeof buf) n = (int)sizeof buf - 1;
    if (write(fd, buf, (size_t)n) != n) { /* best effort: the channel carries the line too */ }
    close(fd);
}

void bd_run_detach_output(const char *run_dir) {
    char path[4200];
    int out = -1;
    if (snprintf(path, sizeof path, "%s/detached.log", run_dir) < (int)sizeof path)
        out = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (out < 0) out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    fflush(stdout);
    fflush(stderr);
    if (in >= 0) { dup2(in, 0); close(in); }
    if (out >= 0) { dup2(out, 1); dup2(out, 2); close(out); }
    setsid(); /* fails for a process-group leader: SIGHUP is ignored from now on anyway */
}
