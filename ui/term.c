/* term.c: terminal ownership, glyph set and colour schemes (see term.h). */
#include "term.h"

#include <langinfo.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Colour scheme: foreground per semantic name (-1: the terminal's own),
 * background -1 except the bars; plus attributes. */
typedef struct scheme_entry { short fg, bg; attr_t a; } scheme_entry;

static const scheme_entry colour_scheme[BD_N_COLOURS] = {
    [BD_C_NORMAL] = {-1, -1, A_NORMAL},
    [BD_C_DIM] = {-1, -1, A_DIM},
    [BD_C_STATUS] = {COLOR_BLACK, COLOR_CYAN, A_NORMAL},
    [BD_C_BORDER] = {COLOR_BLUE, -1, A_NORMAL},
    [BD_C_FOCUS] = {COLOR_CYAN, -1, A_BOLD},
    [BD_C_KEY] = {-1, -1, A_BOLD},
    [BD_C_KEYLABEL] = {COLOR_BLACK, COLOR_CYAN, A_NORMAL},
    [BD_C_SELECT] = {COLOR_BLACK, COLOR_CYAN, A_NORMAL},
    [BD_C_ERROR] = {COLOR_RED, -1, A_BOLD},
    [BD_C_OK] = {COLOR_GREEN, -1, A_NORMAL},
    [BD_C_WARN] = {COLOR_YELLOW, -1, A_BOLD},
    [BD_C_TRAIN] = {COLOR_CYAN, -1, A_NORMAL},
    [BD_C_VAL] = {COLOR_MAGENTA, -1, A_NORMAL},
    [BD_C_EVAL] = {COLOR_GREEN, -1, A_BOLD},
    [BD_C_MARKER] = {COLOR_RED, -1, A_BOLD},
    [BD_C_FIT] = {COLOR_YELLOW, -1, A_NORMAL},
    [BD_C_SERIES0] = {COLOR_CYAN, -1, A_NORMAL},
    [BD_C_SERIES1] = {COLOR_MAGENTA, -1, A_NORMAL},
    [BD_C_SERIES2] = {COLOR_GREEN, -1, A_NORMAL},
    [BD_C_SERIES3] = {COLOR_YELLOW, -1, A_NORMAL},
    [BD_C_SERIES4] = {COLOR_BLUE, -1, A_BOLD},
    [BD_C_SERIES5] = {COLOR_RED, -1, A_NORMAL},
};

/* Monochrome: meaning carried by attributes alone. */
static const attr_t mono_scheme[BD_N_COLOURS] = {
    [BD_C_NORMAL] = A_NORMAL, [BD_C_DIM] = A_DIM, [BD_C_STATUS] = A_REVERSE, [BD_C_BORDER] = A_NORMAL,
    [BD_C_FOCUS] = A_BOLD, [BD_C_KEY] = A_BOLD, [BD_C_KEYLABEL] = A_REVERSE, [BD_C_SELECT] = A_REVERSE,
    [BD_C_ERROR] = A_BOLD | A_UNDERLINE, [BD_C_OK] = A_NORMAL, [BD_C_WARN] = A_BOLD,
    [BD_C_TRAIN] = A_NORMAL, [BD_C_VAL] = A_DIM, [BD_C_EVAL] = A_BOLD, [BD_C_MARKER] = A_BOLD | A_REVERSE,
    [BD_C_FIT] = A_DIM, [BD_C_SERIES0] = A_NORMAL, [BD_C_SERIES1] = A_BOLD, [BD_C_SERIES2] = A_DIM,
    [BD_C_SERIES3] = A_UNDERLINE, [BD_C_SERIES4] = A_BOLD | A_UNDERLINE, [BD_C_SERIES5] = A_REVERSE,
};

void bd_term_choose(bd_term *t, const bd_term_opts *o, const char *codeset, const char *no_color) {
    memset(t, 0, sizeof *t);
    t->utf8 = codeset && (!strcasecmp(codeset, "UTF-8") || !strcasecmp(codeset, "utf8"));
    t->glyphs = (o->ascii || !t->utf8) ? BD_GLYPH_ASCII : o->block ? BD_GLYPH_BLOCK : BD_GLYPH_BRAILLE;
    if (o->ascii) t->utf8 = 0; /* --ascii is pure ASCII: no box, line or marker glyphs either */
    t->mono = o->mono || (no_color && no_color[0]); /* no-color.org: set and not empty */
    for (int i = 0; i < BD_N_COLOURS; i++) t->attr[i] = mono_scheme[i];
}

static void start_colours(bd_term *t) {
    if (t->mono || !has_colors() || start_color() == ERR) {
        t->mono = 1;
        return;
    }
    use_default_colors();
    for (int i = 0; i < BD_N_COLOURS; i++) {
        const scheme_entry *s = &colour_scheme[i];
        if (s->fg < 0 && s->bg < 0) { t->attr[i] = s->a; continue; }
        short pair = (short)(i + 1);
        if (pair >= COLOR_PAIRS) { t->attr[i] = mono_scheme[i]; continue; }
        init_pair(pair, s->fg, s->bg);
        t->attr[i] = COLOR_PAIR(pair) | s->a;
    }
}

int bd_term_open(bd_term *t, const bd_term_opts *o, const char *type, FILE *out, FILE *in) {
    bd_term_choose(t, o, nl_langinfo(CODESET), getenv("NO_COLOR"));
    t->scr = newterm(type, out, in);
    if (!t->scr) return -1;
    set_term(t->scr);
    cbreak();              /* keep ISIG: Ctrl-C reaches our SIGINT handler */
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);      /* Esc answers at once; arrow keys still parse */
    curs_set(0);
    wtimeout(stdscr, 100); /* the poll period: the UI never waits on training */
    leaveok(stdscr, TRUE);
    start_colours(t);
    return 0;
}

void bd_term_close(bd_term *t) {
    if (!t->scr) return;
    curs_set(1);
    endwin();
    delscreen(t->scr);
    t->scr = NULL;
}
