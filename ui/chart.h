/* chart.h: one chart, described by data (series, smoothing, log-y, a
 * marker, a fitted line) and built into a frame of glyphs and labels for
 * a w x h cell area. Building is pure arithmetic (tested in
 * tests/test_ui_plot.c); ui/draw.c copies a frame into a curses window.
 * The chart knows nothing about where its data comes from. */
#ifndef BD_CHART_H
#define BD_CHART_H

#include "plot.h"

#define BD_CHART_SERIES 24

typedef struct bd_chart_series {
    const double *x, *y;
    int n;
    int colour;              /* a theme colour (bd_colour) */
    const char *label;
    int points;              /* 1: scatter dots; 0: a line through the points */
    int smooth;              /* 1: apply the chart's EMA (the raw series drawn faint behind it) */
} bd_chart_series;

/* The character that tells series i apart where colour cannot (--ascii, --mono). */
static inline char bd_series_mark(int i) { return "*+ox#@%&"[i & 7]; }

typedef struct bd_chart_spec {
    bd_chart_series s[BD_CHART_SERIES];
    int ns;
    int logy;
    double ema;              /* smoothing factor in [0, 1) */
    int has_marker;          /* e.g. the best eval point */
    double mx, my;
    int marker_colour;
    int fit, fit_colour;     /* least-squares line through every point series */
    int x_from_zero;         /* the x axis starts at 0 (steps) */
    const char *xtitle, *ytitle; /* axis names ("step"; the scatter's "dD" and "dM"); NULL: none */
    int has_cursor;          /* a vertical line at x = cx */
    double cx;
} bd_chart_spec;

typedef struct bd_chart_frame {
    int w, h;                /* the whole area, cells */
    int gutter;              /* columns left of the plot holding y labels */
    int plot_x, plot_rows;   /* the canvas starts at column plot_x, row 0 */
    bd_canvas cv;
    bd_axis ax, ay;
    int have_data;
    char ylab[3][16];        /* top, middle, bottom labels */
    int ylab_row[3];         /* -1: not shown */
    char xlo[16], xhi[16];   /* first and last x, on the last row */
    int xlab_row;            /* -1: no x labels */
    char xtitle[16], ytitle[16]; /* centred on the x label row; in the gutter's corner ("" none) */
    int cursor_col;          /* canvas column of the cursor, -1 if none */
    int marker_col, marker_row; /* cell of the marker within the canvas, -1 if none */
    int marker_colour;
    int have_fit;
    double k, b;             /* the fitted line (y = k x + b) */
} bd_chart_frame;

/* Build the frame for a w x h area; frees nothing of f (call
 * bd_chart_frame_free). Returns -1 on out of memory. */
int bd_chart_build(bd_chart_frame *f, const bd_chart_spec *s, int w, int h, bd_glyphs g);
void bd_chart_frame_free(bd_chart_frame *f);

#endif
