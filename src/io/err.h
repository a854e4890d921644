/* err.h: one error message travels up from where it happened to the CLI.
 * Every fallible function takes a bd_err * and returns 0 on success or -1
 * after filling it; nothing below the CLI prints or exits. */
#ifndef BD_ERR_H
#define BD_ERR_H

#include <stddef.h>

#define BD_ERR_MAX 1024

typedef struct bd_err {
    char msg[BD_ERR_MAX]; /* "FILE: what is wrong" (with line, key or tensor when known) */
} bd_err;

/* Format a message into e (printf-style; e may be NULL). Always returns -1. */
int bd_errf(bd_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix an existing message: "prefix: old message". Returns -1. */
int bd_err_prefix(bd_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* mkdir -p: create dir and its parents (mode 0755); existing ones are fine. */
int bd_mkdir_p(const char *dir, bd_err *e);

/* snprintf into a path buffer; a path that does not fit is an error. */
int bd_path(char *dst, size_t n, bd_err *e, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* malloc/calloc that report the size and call site on failure (NULL + message). */
void *bd_malloc(size_t n, bd_err *e);
void *bd_calloc(size_t count, size_t size, bd_err *e);

/* Read a whole file into a NUL-terminated buffer; *len gets its length. */
char *bd_read_file(const char *path, size_t *len, bd_err *e);

/* Write data to path atomically: PATH.tmp.PID, fsync, rename. */
int bd_write_file_atomic(const char *path, const void *data, size_t len, bd_err *e);

#endif
