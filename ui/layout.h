/* layout.h: terminal size -> rectangles, plain arithmetic with its own
 * tests (tests/test_ui_layout.c). Every view shares a status line at the
 * top, a message line and the key bar at the bottom; the panels of each
 * view tile the content area between them. Below 80x24 the layout says
 * too_small and the app shows only that. */
#ifndef BD_LAYOUT_H
#define BD_LAYOUT_H

#define BD_MIN_COLS 80
#define BD_MIN_ROWS 24

typedef struct bd_rect { int y, x, h, w; } bd_rect;

/* Run view panels, in Tab order. */
enum { BD_P_LOSS, BD_P_EVAL, BD_P_HYPER, BD_P_WD, BD_P_SCATTER, BD_P_MAG, BD_P_LOG, BD_RUN_PANELS };
/* Set-up view: the key form, the side pane (browser / picker / sliders /
 * help of a key), the summary of model, data and validation. */
enum { BD_S_FORM, BD_S_SIDE, BD_S_INFO, BD_SETUP_PANELS };
/* Runs browser: the list of runs and the overlay chart. */
enum { BD_R_LIST, BD_R_CHART, BD_RUNS_PANELS };

typedef struct bd_layout {
    int rows, cols, too_small;
    bd_rect status, message, keybar, content;
    bd_rect run[BD_RUN_PANELS];
    bd_rect setup[BD_SETUP_PANELS];
    bd_rect runs[BD_RUNS_PANELS];
    bd_rect help;
} bd_layout;

/* Fill L for a rows x cols terminal. */
void bd_layout_compute(bd_layout *L, int rows, int cols);

/* Split r into n stacked (vertical) or side-by-side parts by integer
 * weights; every part gets at least min_size when r allows it, and the
 * parts tile r exactly. */
void bd_split_rows_rect(bd_rect r, const int *weights, int n, int min_size, bd_rect *out);
void bd_split_cols_rect(bd_rect r, const int *weights, int n, int min_size, bd_rect *out);

/* 1 when a and b share a cell. */
int bd_rect_overlap(bd_rect a, bd_rect b);
/* 1 when inner lies inside outer. */
int bd_rect_inside(bd_rect inner, bd_rect outer);

#endif
