/* chart.c: a chart spec -> a frame of glyphs and labels (see chart.h). */
#include "chart.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "text.h"

void bd_chart_frame_free(bd_chart_frame *f) { bd_canvas_free(&f->cv); }

/* Axes over every series as drawn: the raw values (an EMA stays within their range,
 * being a weighted mean of them, so the smoothed curves need no pass of their own). */
static void fit_axes(bd_chart_frame *f, const bd_chart_spec *s) {
    bd_axis_init(&f->ax, 0);
    bd_axis_init(&f->ay, s->logy);
    for (int i = 0; i < s->ns; i++) {
        bd_axis_add(&f->ax, s->s[i].x, s->s[i].n);
        bd_axis_add(&f->ay, s->s[i].y, s->s[i].n);
    }
    if (s->x_from_zero && f->ax.n && f->ax.lo > 0) f->ax.lo = 0;
    int any_points = 0;
    for (int i = 0; i < s->ns; i++) any_points |= s->s[i].points;
    f->have_data = bd_axis_finish(&f->ay, 1) == 0;
    bd_axis_finish(&f->ax, any_points);
}

/* A line series denser than the canvas is drawn a pixel column at a time: a
 * vertical stroke over the column's extent, joined to the next column from
 * its last point to the next one's first; the same dots as every segment
 * (each stays within its columns' extents) at O(n + width). */
static int plot_dense(bd_chart_frame *f, const bd_chart_series *se, const double *y, int colour) {
    bd_canvas *cv = &f->cv;
    const int W = bd_canvas_wpx(cv);
    int *col = malloc(sizeof(int) * (size_t)W * 4);
    if (!col) return -1;
    int *lo = col, *hi = col + W, *first = col + 2 * W, *last = col + 3 * W;
    for (int c = 0; c < W; c++) lo[c] = INT_MAX, hi[c] = INT_MIN;
    int prevc = -1, gap_before = 0;
    /* linear axes: the mapping inline (a point costs a few flops, not two calls and two divisions) */
    const int lin = !f->ax.log && !f->ay.log, Hpx = bd_canvas_hpx(cv) - 1;
    const double sx = (W - 1) / (f->ax.hi - f->ax.lo), sy = Hpx / (f->ay.hi - f->ay.lo);
    for (int i = 0; i < se->n; i++) {
        int px, py;
        if (lin) {
            const double vx = (se->x[i] - f->ax.lo) * sx, vy = (y[i] - f->ay.lo) * sy;
            if (!isfinite(vx) || !isfinite(vy)) { gap_before = 1; continue; }
            px = vx < -1e8 ? -100000000 : vx > 1e8 ? 100000000 : (int)(vx + (vx >= 0 ? 0.5 : -0.5));
            const double r = vy < -1e8 ? -1e8 : vy > 1e8 ? 1e8 : vy;
            py = Hpx - (int)(r + (r >= 0 ? 0.5 : -0.5));
        } else {
            double fx = bd_axis_frac(&f->ax, se->x[i]), fy = bd_axis_frac(&f->ay, y[i]);
            if (isnan(fx) || isnan(fy)) { gap_before = 1; continue; }
            px = bd_canvas_xpx(cv, fx);
            py = bd_canvas_ypx(cv, fy);
        }
        if (px < 0 || px >= W) { gap_before = 1; continue; }
        if (lo[px] == INT_MAX) {
            first[px] = py;
            if (prevc >= 0 && !gap_before) bd_canvas_line(cv, prevc, last[prevc], px, py, colour);
        }
        if (py < lo[px]) lo[px] = py;
        if (py > hi[px]) hi[px] = py;
        last[px] = py;
        prevc = px;
        gap_before = 0;
    }
    for (int c = 0; c < W; c++)
        if (lo[c] != INT_MAX) bd_canvas_line(cv, c, lo[c], c, hi[c], colour);
    free(col);
    return 0;
}

static void plot_series(bd_chart_frame *f, const bd_chart_series *se, const double *y, int colour) {
    bd_canvas *cv = &f->cv;
    if (!se->points && se->n > 2 * bd_canvas_wpx(cv) && !plot_dense(f, se, y, colour)) return;
    int px0 = 0, py0 = 0, have_prev = 0;
    for (int i = 0; i < se->n; i++) {
        double fx = bd_axis_frac(&f->ax, se->x[i]), fy = bd_axis_frac(&f->ay, y[i]);
        if (isnan(fx) || isnan(fy)) { have_prev = 0; continue; }
        int px = bd_canvas_xpx(cv, fx), py = bd_canvas_ypx(cv, fy);
        if (se->points || !have_prev) bd_canvas_dot(cv, px, py, colour);
        else if (px != px0 || py != py0) bd_canvas_line(cv, px0, py0, px, py, colour);
        px0 = px;
        py0 = py;
        have_prev = 1;
    }
}

static void fit_line(bd_chart_frame *f, const bd_chart_spec *s) {
    int n = 0;
    for (int i = 0; i < s->ns; i++) if (s->s[i].points) n += s->s[i].n;
    if (n < 2) return;
    double *x = malloc(sizeof(double) * (size_t)n), *y = malloc(sizeof(double) * (size_t)n);
    if (!x || !y) { free(x); free(y); return; }
    int m = 0;
    for (int i = 0; i < s->ns; i++) {
        if (!s->s[i].points) continue;
        for (int j = 0; j < s->s[i].n; j++) {
            if (!isfinite(s->s[i].x[j]) || !isfinite(s->s[i].y[j])) continue;
            x[m] = s->s[i].x[j];
            y[m] = s->s[i].y[j];
            m++;
        }
    }
    f->have_fit = bd_fit_slope(x, y, m, &f->k, &f->b) == 0;
    free(x);
    free(y);
    if (!f->have_fit || s->logy) return;
    /* sample the line across the plot width so it is clipped like the data */
    int W = bd_canvas_wpx(&f->cv), prevx = 0, prevy = 0;
    for (int px = 0; px < W; px++) {
        double xv = bd_axis_value(&f->ax, W > 1 ? (double)px / (W - 1) : 0);
        int py = bd_canvas_ypx(&f->cv, bd_axis_frac(&f->ay, f->k * xv + f->b));
        if (px) bd_canvas_line(&f->cv, prevx, prevy, px, py, s->fit_colour);
        prevx = px;
        prevy = py;
    }
}

/* Steps read as whole numbers; other x (dD) as ticks with common decimals. */
static void fmt_x(bd_chart_frame *f) {
    double v[2] = {f->ax.lo, f->ax.hi};
    char out[2][16];
    int whole = 1;
    for (int i = 0; i < 2; i++) whole &= fabs(v[i]) < 1e9 && fabs(v[i] - round(v[i])) < 1e-6;
    if (whole) {
        bd_fmt(f->xlo, sizeof f->xlo, "%.0f", v[0]);
        bd_fmt(f->xhi, sizeof f->xhi, "%.0f", v[1]);
        return;
    }
    bd_fmt_ticks(v, 2, 10, 0, out);
    bd_fmt(f->xlo, sizeof f->xlo, "%s", out[0]);
    bd_fmt(f->xhi, sizeof f->xhi, "%s", out[1]);
}

int bd_chart_build(bd_chart_frame *f, const bd_chart_spec *s, int w, int h, bd_glyphs g) {
    memset(f, 0, sizeof *f);
    f->w = w;
    f->h = h;
    f->marker_col = f->marker_row = f->cursor_col = -1;
    for (int i = 0; i < 3; i++) f->ylab_row[i] = -1;
    /* labels only where they leave a useful plot */
    f->gutter = w >= 24 ? 7 : 0;
    f->xlab_row = h >= 4 ? h - 1 : -1;
    f->plot_x = f->gutter ? f->gutter + 1 : 0;
    f->plot_rows = f->xlab_row >= 0 ? h - 1 : h;
    if (bd_canvas_init(&f->cv, w - f->plot_x, f->plot_rows, g)) return -1;
    double *ys[BD_CHART_SERIES] = {0};
    int rc = 0;
    for (int i = 0; i < s->ns && i < BD_CHART_SERIES; i++) {
        const bd_chart_series *se = &s->s[i];
        ys[i] = (double *)se->y;
        if (se->smooth && s->ema > 0 && se->n) {
            ys[i] = malloc(sizeof(double) * (size_t)se->n);
            if (!ys[i]) { rc = -1; goto out; }
            bd_ema(se->y, se->n, s->ema, ys[i]);
        }
    }
    fit_axes(f, s);
    if (!f->have_data) goto out;
    if (s->fit) fit_line(f, s);
    for (int i = 0; i < s->ns; i++) /* the raw series first, faint, under the smoothed ones */
        if (ys[i] != s->s[i].y) {
            f->cv.cur_sid = i + 1;
            plot_series(f, &s->s[i], s->s[i].y, s->s[i].colour | BD_FAINT);
        }
    for (int i = 0; i < s->ns; i++) {
        f->cv.cur_sid = i + 1;
        plot_series(f, &s->s[i], ys[i], s->s[i].colour);
    }
    if (s->has_cursor) {
        double fx = bd_axis_frac(&f->ax, s->cx);
        if (!isnan(fx) && fx >= 0 && fx <= 1) f->cursor_col = bd_canvas_xpx(&f->cv, fx) / f->cv.sx;
    }
    if (s->has_marker) {
        double fx = bd_axis_frac(&f->ax, s->mx), fy = bd_axis_frac(&f->ay, s->my);
        if (!isnan(fx) && !isnan(fy) && fy >= 0 && fy <= 1 && fx >= 0 && fx <= 1) {
            f->marker_col = bd_canvas_xpx(&f->cv, fx) / f->cv.sx;
            f->marker_row = bd_canvas_ypx(&f->cv, fy) / f->cv.sy;
            f->marker_colour = s->marker_colour;
        }
    }
    if (f->gutter) {
        int rows = f->plot_rows, lab_rows[3] = {0, rows / 2, rows - 1};
        double fr[3] = {1.0, rows > 1 ? 1.0 - (double)(rows / 2) / (rows - 1) : 0.5, 0.0};
        double v[3];
        int k = 0, which[3];
        for (int i = 0; i < 3; i++) {
            if (i == 1 && rows < 5) continue;
            if (i == 2 && rows < 2) continue;
            f->ylab_row[i] = lab_rows[i];
            which[k] = i;
            v[k++] = bd_axis_value(&f->ay, fr[i]);
        }
        char out[3][16];
        bd_fmt_ticks(v, k, f->gutter, f->ay.log, out);
        for (int i = 0; i < k; i++) bd_fmt(f->ylab[which[i]], sizeof f->ylab[0], "%s", out[i]);
        if (s->ytitle && f->xlab_row >= 0) bd_fmt(f->ytitle, sizeof f->ytitle, "%.*s", f->gutter, s->ytitle);
    }
    if (f->xlab_row >= 0) {
        fmt_x(f);
        if (s->xtitle) bd_fmt(f->xtitle, sizeof f->xtitle, "%s", s->xtitle);
    }
out:
    for (int i = 0; i < s->ns && i < BD_CHART_SERIES; i++)
        if (ys[i] != s->s[i].y) free(ys[i]);
    return rc;
}
