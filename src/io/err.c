#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bd_errf(bd_err *e, const char *fmt, ...) {
    if (!e) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int bd_err_prefix(bd_err *e, const char *fmt, ...) {
    if (!e) return -1;
    char prefix[BD_ERR_MAX], old[BD_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    size_t k = strlen(prefix);
    memcpy(e->msg, prefix, k + 1);
    if (k + 2 < sizeof e->msg) {
        memcpy(e->msg + k, ": ", 3);
        size_t rest = sizeof e->msg - (k + 2) - 1, ol = strnlen(old, rest);
        memcpy(e->msg + k + 2, old, ol);
        e->msg[k + 2 + ol] = '\0';
    }
    return -1;
}

int bd_path(char *dst, size_t n, bd_err *e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(dst, n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= n) return bd_errf(e, "path too long: %.200s...", dst);
    return 0;
}

void *bd_malloc(size_t n, bd_err *e) {
    void *p = malloc(n ? n : 1);
    if (!p) bd_errf(e, "out of memory allocating %zu bytes", n);
    return p;
}

void *bd_calloc(size_t count, size_t size, bd_err *e) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) bd_errf(e, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

char *bd_read_file(const char *path, size_t *len, bd_err *e) {
    FILE *f = fopen(path, "rb");
    if (!f) { bd_errf(e, "%s: cannot open: %s", path, strerror(errno)); return NULL; }
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, ncap);
            if (!nb) { free(buf); fclose(f); bd_errf(e, "%s: out of memory reading file", path); return NULL; }
            buf = nb; cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); bd_errf(e, "%s: read error", path); return NULL; }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

int bd_write_file_atomic(const char *path, const void *data, size_t len, bd_err *e) {
    char tmp[4096];
    int k = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (k < 0 || (size_t)k >= sizeof tmp) return bd_errf(e, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return bd_errf(e, "%s: cannot create: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            int er = errno; close(fd); unlink(tmp);
            return bd_errf(e, "%s: write failed: %s", tmp, strerror(er));
        }
        p += w; left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int er = errno; unlink(tmp);
        return bd_errf(e, "%s: flush failed: %s", tmp, strerror(er));
    }
    if (rename(tmp, path) != 0) {
        int er = errno; unlink(tmp);
        return bd_errf(e, "%s: rename to %s failed: %s", tmp, path, strerror(er));
    }
    return 0;
}

int bd_mkdir_p(const char *dir, bd_err *e) {
    char tmp[4096];
    if (bd_path(tmp, sizeof tmp, e, "%s", dir)) return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) && errno != EEXIST) return bd_errf(e, "%s: cannot create directory: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) && errno != EEXIST) return bd_errf(e, "%s: cannot create directory: %s", tmp, strerror(errno));
    return 0;
}
