/* draw.h: curses primitives shared by the views: clipped UTF-8 text, a
 * titled box, and a chart frame copied into a window. Nothing here
 * computes data; it only places what it is given. */
#ifndef BD_DRAW_H
#define BD_DRAW_H

#include "chart.h"
#include "term.h"

/* Print UTF-8 text at (y, x) clipped to width columns; returns columns used. */
int bd_put(WINDOW *w, int y, int x, int width, attr_t a, const char *text);
int bd_putf(WINDOW *w, int y, int x, int width, attr_t a, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* text over up to max_rows rows of width columns from (y, x), broken at spaces;
 * returns the rows used (w NULL: only counts them). */
int bd_put_wrapped(WINDOW *w, int y, int x, int width, int max_rows, attr_t at, const char *text);
/* Display width of UTF-8 text (columns). */
int bd_text_width(const char *text);
/* A border with a title on the top edge; focused boxes stand out. */
void bd_box(WINDOW *w, const bd_term *t, const char *title, int focused);
/* Copy a built chart frame into w at (y, x). */
void bd_draw_chart(WINDOW *w, int y, int x, const bd_chart_frame *f, const bd_term *t);
/* One code point (braille, block, or ASCII) with attributes. */
void bd_put_glyph(WINDOW *w, int y, int x, unsigned cp, attr_t a);
/* A legend entry "-- label" in the series colour; returns columns used. */
int bd_legend(WINDOW *w, int y, int x, int width, const bd_term *t, int colour, const char *label);
/* The same for chart series number series (>= 0): where bd_chart_marks, its
 * character ("** label", as the chart draws it) instead of the line. */
int bd_legend_mark(WINDOW *w, int y, int x, int width, const bd_term *t, int colour, int series, const char *label);
/* Whether charts tell series apart by characters (* + o x # ...) rather than
 * colour and braille: --ascii or --mono. */
int bd_chart_marks(const bd_term *t);

#endif
