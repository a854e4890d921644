/* text.h: bounded string formatting for the UI. Paths and names are
 * clipped where a screen or buffer ends; bd_fmt says when it clipped, so
 * a caller that needs the whole text (a path to open) can refuse it. */
#ifndef BD_TEXT_H
#define BD_TEXT_H

#include <stddef.h>

/* snprintf into dst; returns 1 when the text was cut, 0 when it fit. */
int bd_fmt(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
