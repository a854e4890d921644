/* plot.h: the arithmetic of charts, with no curses in it: axis ranges
 * (linear and log), EMA smoothing, the least-squares slope, and a dot
 * canvas that turns pixels into braille (2x4 dots a cell), block (1x2) or
 * ASCII (1x3) glyphs. The drawing code (chart.c) only copies glyphs out. */
#ifndef BD_PLOT_H
#define BD_PLOT_H

#include <stdint.h>

#include "metrics.h" /* bd_fit_slope */

typedef enum bd_glyphs { BD_GLYPH_BRAILLE = 0, BD_GLYPH_BLOCK, BD_GLYPH_ASCII } bd_glyphs;

/* EMA: out[0] = y[0], out[i] = a out[i-1] + (1 - a) y[i]; a in [0, 1).
 * Non-finite inputs carry the previous value. out may alias y. */
void bd_ema(const double *y, int n, double a, double *out);


/* An axis over data values. log: values are mapped by log10 and values
 * <= 0 are left out. Build with init, add (any number of times), finish. */
typedef struct bd_axis {
    double lo, hi;
    int log;
    int n;                   /* usable values seen */
} bd_axis;

void bd_axis_init(bd_axis *ax, int logscale);
void bd_axis_add(bd_axis *ax, const double *v, int n);
/* Pads an empty or zero-width range; with nice, rounds a linear range out
 * to a 1-2-5 step (so labels are round). Returns -1 if no usable value. */
int bd_axis_finish(bd_axis *ax, int nice);
/* Where v falls on the axis: 0 at lo, 1 at hi (outside if v is); NaN when
 * v is not finite or not positive on a log axis. */
double bd_axis_frac(const bd_axis *ax, double v);
/* The data value at fraction f (inverse of bd_axis_frac). */
double bd_axis_value(const bd_axis *ax, double f);

/* A canvas of cols x rows cells; each cell holds sx x sy dots (braille
 * 2x4, block 1x2, ascii 1x3) and the colour of the last dot set in it.
 * Pixel (0, 0) is the top left. */
typedef struct bd_canvas {
    int cols, rows, sx, sy;
    bd_glyphs g;
    uint8_t *bits;           /* [rows * cols] dot masks */
    uint8_t *colour;         /* [rows * cols]; BD_FAINT set: a faint dot (drawn dim) */
    uint8_t *sid;            /* [rows * cols] the series (1-based; 0 none) of the last dot */
    int cur_sid;             /* what bd_canvas_dot writes into sid */
} bd_canvas;
#define BD_FAINT 0x80        /* or-ed into a colour: the raw series behind a smoothed one */

int bd_canvas_init(bd_canvas *c, int cols, int rows, bd_glyphs g);
void bd_canvas_free(bd_canvas *c);
void bd_canvas_clear(bd_canvas *c);
static inline int bd_canvas_wpx(const bd_canvas *c) { return c->cols * c->sx; }
static inline int bd_canvas_hpx(const bd_canvas *c) { return c->rows * c->sy; }
/* Set one dot; pixels outside the canvas are ignored. */
void bd_canvas_dot(bd_canvas *c, int px, int py, int colour);
/* A straight line of dots (Bresenham), clipped to the canvas. */
void bd_canvas_line(bd_canvas *c, int x0, int y0, int x1, int y1, int colour);
/* Pixel column / row of a fraction along x (0 left) or y (0 bottom). */
int bd_canvas_xpx(const bd_canvas *c, double fx);
int bd_canvas_ypx(const bd_canvas *c, double fy);
/* The glyph of a cell as a Unicode code point (' ' when empty). */
uint32_t bd_canvas_glyph(const bd_canvas *c, int col, int row);
/* The glyph for a dot mask in a glyph set (exposed for tests). */
uint32_t bd_glyph_of(bd_glyphs g, unsigned bits);

/* Labels for n tick values, all with the same number of decimals (or the same
 * mantissa digits in e-notation), the fewest that tell them apart, each at most
 * width characters (width <= 15), each within 0.5% of the values' span (rel: of
 * itself, for a log axis): 0.5 / 0.25 / 0 reads "0.50", "0.25", "0.00". */
void bd_fmt_ticks(const double *v, int n, int width, int rel, char (*out)[16]);

/* A key line: n entries of widths w[i] placed left to right with gap columns
 * between them on at most rows rows of width columns; an entry never cut.
 * row[i], col[i] get each placed entry's position; returns how many entries
 * were placed (the first ones). */
int bd_key_layout(const int *w, int n, int width, int rows, int gap, int *row, int *col);

/* Format v in at most width characters (%.3g-like, k/M suffixes avoided
 * so labels read as numbers). */
void bd_fmt_num(char *buf, int width, double v);

#endif
