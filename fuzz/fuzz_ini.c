/* fuzz_ini.c: libFuzzer harness for the INI reader. The input is the file
 * (read through bd_config_read on top of the defaults). Beyond "no crash, no
 * leak", it checks the reader's promises: a refused file gives one line
 * "fuzz.ini:N: ..." with N a line of the input and leaves the config as it
 * was; an accepted one round-trips: bd_config_write, then reading that back
 * gives the same value for every key, and writing again the same bytes.
 * bd_config_finish must keep that (a run's config.ini is a finished one). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define NAME "fuzz.ini"

static void check(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "fuzz_ini: invariant broken: %s\n", what);
        abort();
    }
}

/* Lines in the input: each LF ends one; a last line without LF counts too. */
static long count_lines(const uint8_t *d, size_t n) {
    long lines = 0;
    for (size_t i = 0; i < n; i++) lines += d[i] == '\n';
    return lines + (n > 0 && d[n - 1] != '\n');
}

static int read_buf(bd_config *c, const void *buf, size_t n, bd_err *e) {
    /* fmemopen refuses a zero-sized buffer; a lone LF is just as empty */
    FILE *f = n ? fmemopen((void *)buf, n, "rb") : fmemopen((void *)"\n", 1, "rb");
    check(f != NULL, "fmemopen");
    int rc = bd_config_read(c, f, NAME, e);
    fclose(f);
    return rc;
}

/* The config as written by bd_config_write (malloc'd, NUL-terminated). */
static char *written(const bd_config *c, size_t *len) {
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    check(f != NULL, "open_memstream");
    bd_config_write(c, f);
    check(fclose(f) == 0, "write");
    return buf;
}

static void same_config(const bd_config *a, const bd_config *b, const char *what) {
    static char ta[BD_STR + 64], tb[BD_STR + 64];
    for (int i = 0; i < bd_config_n_keys(); i++) {
        bd_config_key_info k;
        bd_config_key(i, &k);
        check(bd_config_get(a, k.name, ta, sizeof ta) == 0 && bd_config_get(b, k.name, tb, sizeof tb) == 0, "get");
        if (strcmp(ta, tb) != 0) {
            fprintf(stderr, "fuzz_ini: %s: key %s: \"%s\" then \"%s\"\n", what, k.name, ta, tb);
            abort();
        }
    }
}

/* Write c, read it back onto the defaults: the same config, and the same bytes again. */
static void round_trip(const bd_config *c, const char *what) {
    size_t n1, n2;
    char *w1 = written(c, &n1);
    bd_config back;
    bd_config_defaults(&back);
    bd_err e = {{0}};
    if (read_buf(&back, w1, n1, &e) != 0) {
        fprintf(stderr, "fuzz_ini: %s: the written config is refused: %s\n", what, e.msg);
        abort();
    }
    same_config(c, &back, what);
    char *w2 = written(&back, &n2);
    check(n1 == n2 && memcmp(w1, w2, n1) == 0, "writing twice gives other bytes");
    free(w1);
    free(w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bd_config c, before; /* ~30 KB each: off the stack */
    bd_config_defaults(&c);
    before = c;
    bd_err e = {{0}};
    int rc = read_buf(&c, data, size, &e);
    if (rc != 0) {
        check(rc == -1, "return code");
        check(strchr(e.msg, '\n') == NULL && strchr(e.msg, '\r') == NULL, "error spans lines");
        check(strncmp(e.msg, NAME ":", strlen(NAME) + 1) == 0, "error does not start with the file name");
        char *end = NULL;
        long line = strtol(e.msg + strlen(NAME) + 1, &end, 10);
        check(end != e.msg + strlen(NAME) + 1 && *end == ':', "error names no line");
        check(line >= 1 && line <= count_lines(data, size), "error names a line not in the input");
        check(memcmp(&c, &before, sizeof c) == 0, "a refused file changed the config");
        return 0;
    }
    round_trip(&c, "loaded");
    if (bd_config_finish(&c, &e) != 0) {
        check(strchr(e.msg, '\n') == NULL && e.msg[0], "finish error spans lines or is empty");
        return 0;
    }
    round_trip(&c, "finished");
    static bd_config again;
    again = c;
    check(bd_config_finish(&again, &e) == 0, "finishing a finished config fails");
    same_config(&c, &again, "finished twice");
    return 0;
}
