/* runs_edit.c: see runs_edit.h. */
#include "runs_edit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runlock.h"

int bd_run_name_check(const char *name, bd_err *e) {
    size_t len = strlen(name);
    if (!len) return bd_errf(e, "a run name cannot be empty");
    if (len > 255) return bd_errf(e, "a run name is at most 255 bytes");
    if (strchr(name, '/')) return bd_errf(e, "\"%s\": a run name cannot contain '/'", name);
    if (name[0] == '.') return bd_errf(e, "\"%s\": a run name cannot start with '.'", name);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 32 || *p == 127) return bd_errf(e, "a run name cannot contain control characters");
    return 0;
}

/* dir is a real directory (not a link) holding config.ini or metrics.csv as files. */
static int check_run_dir(const char *dir, bd_err *e) {
    struct stat st;
    if (lstat(dir, &st) != 0) return bd_errf(e, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return bd_errf(e, "%s: not a directory (left alone)", dir);
    static const char *const marks[] = {"config.ini", "metrics.csv"};
    for (int i = 0; i < 2; i++) {
        char path[4400];
        if (snprintf(path, sizeof path, "%s/%s", dir, marks[i]) >= (int)sizeof path) continue;
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) return 0;
    }
    return bd_errf(e, "%s: not a bidora run directory (no config.ini or metrics.csv): left alone", dir);
}

/* Take the run's lock: a live run (or one starting now) is refused. */
static int lock_run(bd_runlock *l, const char *dir, const char *what, bd_err *e) {
    long pid = bd_runlock_holder(dir);
    if (pid > 0) return bd_errf(e, "%s is running (pid %ld): it cannot be %s; stop it first", dir, pid, what);
    if (pid < 0) return bd_errf(e, "%s is running in another process: it cannot be %s", dir, what);
    bd_err le = {{0}};
    if (bd_runlock_take(l, dir, &le)) return bd_errf(e, "cannot be %s: %s", what, le.msg);
    return 0;
}

int bd_run_rename(const char *out_dir, const char *old, const char *new_name, bd_err *e) {
    if (bd_run_name_check(new_name, e)) return -1;
    if (bd_run_name_check(old, e)) return -1;
    if (!strcmp(old, new_name)) return bd_errf(e, "%s: that is its name already", old);
    char from[4400], to[4400];
    if (snprintf(from, sizeof from, "%s/%s", out_dir, old) >= (int)sizeof from ||
        snprintf(to, sizeof to, "%s/%s", out_dir, new_name) >= (int)sizeof to)
        return bd_errf(e, "%s: path too long", out_dir);
    if (check_run_dir(from, e)) return -1;
    struct stat st;
    if (lstat(to, &st) == 0) return bd_errf(e, "%s exists already: pick another name", to);
    bd_runlock l;
    if (lock_run(&l, from, "renamed", e)) return -1;
    /* never replaces: an empty directory of that name made meanwhile would be, by plain rename(2) */
    int rc = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
    if (rc != 0 && (errno == ENOSYS || errno == EINVAL)) { /* a file system without it */
        if (lstat(to, &st) == 0) errno = EEXIST;
        else rc = rename(from, to);
    }
    int er = errno;
    bd_runlock_release(&l);
    if (rc != 0) {
        if (er == EEXIST || er == ENOTEMPTY) return bd_errf(e, "%s exists already: pick another name", to);
        return bd_errf(e, "cannot rename %s to %s: %s", from, to, strerror(er));
    }
    return 0;
}

/* Remove everything below the directory open as fd (no links followed: unlinkat
 * removes a link itself, and openat with O_NOFOLLOW never enters one). */
static int remove_below(int fd, const char *path, bd_err *e) {
    DIR *d = fdopendir(fd);
    if (!d) { close(fd); return bd_errf(e, "%s: %s", path, strerror(errno)); }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) { rc = bd_errf(e, "%s/%s: %s", path, de->d_name, strerror(errno)); break; }
            char sp[4400];
            snprintf(sp, sizeof sp, "%s/%s", path, de->d_name);
            rc = remove_below(sub, sp, e);
            if (rc == 0 && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) != 0)
                rc = bd_errf(e, "%s: %s", sp, strerror(errno));
        } else if (unlinkat(dirfd(d), de->d_name, 0) != 0) {
            rc = bd_errf(e, "%s/%s: %s", path, de->d_name, strerror(errno));
        }
    }
    closedir(d);
    return rc;
}

int bd_run_delete(const char *dir, bd_err *e) {
    if (check_run_dir(dir, e)) return -1;
    bd_runlock l;
    if (lock_run(&l, dir, "deleted", e)) return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int rc;
    if (fd < 0) rc = bd_errf(e, "%s: %s", dir, strerror(errno));
    else rc = remove_below(fd, dir, e); /* the lock file goes too; the lock is held until release */
    bd_runlock_release(&l);
    if (rc == 0 && rmdir(dir) != 0) rc = bd_errf(e, "%s: %s", dir, strerror(errno));
    return rc;
}
