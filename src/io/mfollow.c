/* mfollow.c: see mfollow.h. */
#include "mfollow.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes read at a time: a long history is read in pieces, not whole. */
#define CHUNK (64 * 1024)

static const char header[] = "wall_time,step,phase,name,value";

int bd_mfollow_init(bd_mfollow *f, const char *path, bd_err *e) {
    memset(f, 0, sizeof *f);
    return bd_path(f->path, sizeof f->path, e, "%s", path);
}

void bd_mfollow_rewind(bd_mfollow *f) {
    f->off = 0;
    f->line = 0;
    f->ntail = 0;
}

/* Keep the last BD_MF_TAIL bytes before the offset as n more bytes are consumed. */
static void tail_push(bd_mfollow *f, const char *p, size_t n) {
    if (n >= BD_MF_TAIL) {
        memcpy(f->tail, p + n - BD_MF_TAIL, BD_MF_TAIL);
        f->ntail = BD_MF_TAIL;
        return;
    }
    size_t keep = (size_t)f->ntail < BD_MF_TAIL - n ? (size_t)f->ntail : BD_MF_TAIL - n;
    memmove(f->tail, f->tail + f->ntail - keep, keep);
    memcpy(f->tail + keep, p, n);
    f->ntail = (int)(keep + n);
}

static void consume(bd_mfollow *f, const char *p, size_t n) {
    tail_push(f, p, n);
    f->off += (long long)n;
}

/* Is fd (stat st) still the file whose first off bytes were consumed? */
static int same_file(const bd_mfollow *f, int fd, const struct stat *st) {
    if (!f->seen || f->off == 0) return 1; /* nothing consumed: any file will do */
    if (st->st_dev != f->dev || st->st_ino != f->ino) return 0; /* replaced (rename) */
    if ((long long)st->st_size < f->off) return 0;                /* cut */
    unsigned char b[BD_MF_TAIL];
    ssize_t n = pread(fd, b, (size_t)f->ntail, (off_t)(f->off - f->ntail));
    if (n != f->ntail || memcmp(b, f->tail, (size_t)n)) return 0; /* cut, then regrown past us */
    /* a FINAL poll took a last line without LF: what follows it cannot be read on */
    if (f->tail[f->ntail - 1] != '\n' && (long long)st->st_size > f->off) return 0;
    return 1;
}

/* A field as a phase: "train" 1, "retrain" 2, a number itself. */
static int phase_of(const char *s) {
    if (!strcmp(s, "retrain")) return 2;
    char *end;
    long p = strtol(s, &end, 10);
    return end != s && !*end ? (int)p : 1;
}

/* One line of len bytes (its LF not included). Returns 1 for a row
 * delivered, 0 for a blank line or the header, -1 on an error. */
static int take_line(const bd_mfollow *f, const char *text, size_t len, bd_mf_row_fn fn, void *ctx, bd_err *e) {
    long ln = f->line + 1;
    if (len > BD_MF_LINE_MAX) return bd_errf(e, "%s:%ld: line too long", f->path, ln);
    char line[BD_MF_LINE_MAX + 1]; /* a copy: the caller's bytes become the tail unchanged */
    memcpy(line, text, len);
    while (len && (line[len - 1] == '\r' || line[len - 1] == '\n')) len--;
    line[len] = '\0';
    if (!len) return 0;
    if (ln == 1) {
        if (strncmp(line, header, sizeof header - 1))
            return bd_errf(e, "%s:1: not a metrics.csv header (%s)", f->path, header);
        return 0;
    }
    /* wall_time,step,phase,name,value: names hold no commas */
    char *field[5], *p = line;
    int nf = 0;
    while (nf < 5) {
        field[nf++] = p;
        char *comma = strchr(p, ',');
        if (!comma) break;
        *comma = '\0';
        p = comma + 1;
    }
    char *end;
    long step = nf == 5 ? strtol(field[1], &end, 10) : 0;
    if (nf != 5 || *end || !field[3][0]) return bd_errf(e, "%s:%ld: expected 5 fields", f->path, ln);
    double v = strtod(field[4], &end);
    if (end == field[4]) return bd_errf(e, "%s:%ld: value \"%s\" is not a number", f->path, ln, field[4]);
    double wall = strtod(field[0], &end);
    if (end == field[0]) wall = NAN;
    if (fn(ctx, wall, step, phase_of(field[2]), field[3], v, e)) return -1;
    return 1;
}

/* Deliver the whole lines of [f->off, size); a partial last line waits
 * (FINAL: counts). Returns the rows delivered, or -1. */
static int read_rows(bd_mfollow *f, int fd, long long size, int flags, bd_mf_row_fn fn, void *ctx, bd_err *e) {
    long long want = size - f->off;
    int rows = 0, rc = 0;
    char *buf = NULL;
    if (want > 0) {
        size_t cap = want < CHUNK ? (size_t)want : CHUNK;
        if (!(buf = malloc(cap))) return bd_errf(e, "%s: out of memory", f->path);
        long long pos = f->off; /* the file offset of buf[0] */
        size_t have = 0;
        while (pos + (long long)have < size) {
            long long left = size - pos - (long long)have;
            size_t n = left < (long long)(cap - have) ? (size_t)left : cap - have;
            ssize_t got = pread(fd, buf + have, n, (off_t)(pos + (long long)have));
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) { rc = bd_errf(e, "%s: read failed: %s", f->path, strerror(errno)); goto out; }
            if (got == 0) break; /* cut while we read: the next poll sees it */
            have += (size_t)got;
            size_t start = 0;
            const char *nl;
            while ((nl = memchr(buf + start, '\n', have - start))) {
                size_t len = (size_t)(nl - (buf + start));
                int r = take_line(f, buf + start, len, fn, ctx, e);
                if (r < 0) { consume(f, buf, start); rc = -1; goto out; } /* the next poll starts at the bad line */
                rows += r;
                start += len + 1;
                f->line++;
            }
            consume(f, buf, start);
            if (have - start > BD_MF_LINE_MAX) { rc = bd_errf(e, "%s:%ld: line too long", f->path, f->line + 1); goto out; }
            memmove(buf, buf + start, have - start);
            pos += (long long)start;
            have -= start;
        }
        if ((flags & BD_MF_FINAL) && have) {
            int r = take_line(f, buf, have, fn, ctx, e);
            if (r < 0) { rc = -1; goto out; }
            rows += r;
            consume(f, buf, have);
            f->line++;
        }
    }
    if ((flags & BD_MF_FINAL) && f->line == 0) rc = bd_errf(e, "%s: empty file", f->path);
out:
    free(buf);
    return rc < 0 ? -1 : rows;
}

int bd_mfollow_poll(bd_mfollow *f, int flags, bd_mf_row_fn fn, void *ctx, int *restarted, bd_err *e) {
    *restarted = 0;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int er = errno;
        bd_errf(e, "%s: cannot open: %s", f->path, strerror(er));
        return er == ENOENT || er == ENOTDIR ? BD_MF_MISSING : -1;
    }
    struct stat st;
    if (fstat(fd, &st)) {
        int er = errno;
        close(fd);
        return bd_errf(e, "%s: cannot stat: %s", f->path, strerror(er));
    }
    int same = same_file(f, fd, &st);
    f->seen = 1;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    if (!same) {
        bd_mfollow_rewind(f);
        f->restarts++;
        *restarted = 1;
        close(fd);
        return 0;
    }
    int rc = read_rows(f, fd, (long long)st.st_size, flags, fn, ctx, e);
    close(fd);
    return rc;
}
