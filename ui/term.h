/* term.h: the one module that owns the terminal (htop's lesson): opening
 * and restoring it, the glyph set (braille, block or ASCII), and colours
 * by semantic name in two schemes, colour and monochrome (NO_COLOR,
 * --mono, or a terminal without colours). */
#ifndef BD_TERM_H
#define BD_TERM_H

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>
#include <stdio.h>

#include "plot.h"

typedef enum bd_colour {
    BD_C_NORMAL = 0, BD_C_DIM, BD_C_STATUS, BD_C_BORDER, BD_C_FOCUS, BD_C_KEY, BD_C_KEYLABEL,
    BD_C_SELECT, BD_C_ERROR, BD_C_OK, BD_C_WARN, BD_C_TRAIN, BD_C_VAL, BD_C_EVAL, BD_C_MARKER,
    BD_C_FIT, BD_C_SERIES0, BD_C_SERIES1, BD_C_SERIES2, BD_C_SERIES3, BD_C_SERIES4, BD_C_SERIES5,
    BD_N_COLOURS
} bd_colour;
#define BD_N_SERIES_COLOURS 6

typedef struct bd_term_opts {
    int ascii, block, mono;  /* forced by --ascii, --block, --mono */
} bd_term_opts;

typedef struct bd_term {
    SCREEN *scr;
    int utf8, mono;          /* utf8: non-ASCII glyphs may be drawn (a UTF-8 locale, no --ascii) */
    bd_glyphs glyphs;
    attr_t attr[BD_N_COLOURS];
} bd_term;

/* Choose glyphs and scheme from the locale (setlocale already called),
 * NO_COLOR and opts; no terminal is touched (testable). */
void bd_term_choose(bd_term *t, const bd_term_opts *o, const char *codeset, const char *no_color);
/* Open curses on out/in (stdout/stdin for the app; /dev/null for the
 * bench) as terminal type (NULL: $TERM). Returns -1 when it cannot. */
int bd_term_open(bd_term *t, const bd_term_opts *o, const char *type, FILE *out, FILE *in);
/* Restore the terminal (endwin) and free the screen. Safe to call twice. */
void bd_term_close(bd_term *t);

static inline attr_t bd_attr(const bd_term *t, int c) { return t->attr[c >= 0 && c < BD_N_COLOURS ? c : 0]; }

#endif
