/* plot.c: chart arithmetic and the dot canvas (see plot.h). */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bd_ema(const double *y, int n, double a, double *out) {
    double s = NAN;
    for (int i = 0; i < n; i++) {
        double v = y[i];
        if (isfinite(v)) s = isnan(s) ? v : a * s + (1.0 - a) * v;
        out[i] = s;
    }
}


void bd_axis_init(bd_axis *ax, int logscale) {
    ax->lo = INFINITY;
    ax->hi = -INFINITY;
    ax->log = logscale;
    ax->n = 0;
}

void bd_axis_add(bd_axis *ax, const double *v, int n) {
    if (!ax->log) { /* the common case, without the log test in the loop */
        double lo = ax->lo, hi = ax->hi;
        int cnt = 0;
        for (int i = 0; i < n; i++) {
            const double x = v[i];
            if (!isfinite(x)) continue;
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
            cnt++;
        }
        ax->lo = lo;
        ax->hi = hi;
        ax->n += cnt;
        return;
    }
    for (int i = 0; i < n; i++) {
        double x = v[i];
        if (!isfinite(x) || x <= 0) continue;
        x = log10(x);
        if (x < ax->lo) ax->lo = x;
        if (x > ax->hi) ax->hi = x;
        ax->n++;
    }
}

/* The 1-2-5 step that splits span into about n intervals. */
static double nice_step(double span, int n) {
    double raw = span / n, p = pow(10.0, floor(log10(raw))), f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

int bd_axis_finish(bd_axis *ax, int nice) {
    if (!ax->n) {
        ax->lo = 0;
        ax->hi = 1;
        return -1;
    }
    if (ax->hi - ax->lo <= 1e-12 * (fabs(ax->hi) + fabs(ax->lo)) || ax->hi == ax->lo) {
        /* a flat series: centre it in a band of +-10% (or +-0.5 around zero) */
        double pad = ax->log ? 0.5 : (ax->hi != 0 ? fabs(ax->hi) * 0.1 : 0.5);
        ax->lo -= pad;
        ax->hi += pad;
    } else if (nice && !ax->log) {
        double st = nice_step(ax->hi - ax->lo, 4);
        ax->lo = floor(ax->lo / st + 1e-9) * st;
        ax->hi = ceil(ax->hi / st - 1e-9) * st;
    }
    return 0;
}

double bd_axis_frac(const bd_axis *ax, double v) {
    if (!isfinite(v) || (ax->log && v <= 0)) return NAN;
    if (ax->log) v = log10(v);
    return (v - ax->lo) / (ax->hi - ax->lo);
}

double bd_axis_value(const bd_axis *ax, double f) {
    double v = ax->lo + f * (ax->hi - ax->lo);
    return ax->log ? pow(10.0, v) : v;
}

int bd_canvas_init(bd_canvas *c, int cols, int rows, bd_glyphs g) {
    memset(c, 0, sizeof *c);
    if (cols < 1) cols = 1;
    if (rows < 1) rows = 1;
    c->cols = cols;
    c->rows = rows;
    c->g = g;
    c->sx = g == BD_GLYPH_BRAILLE ? 2 : 1;
    c->sy = g == BD_GLYPH_BRAILLE ? 4 : g == BD_GLYPH_BLOCK ? 2 : 3;
    c->bits = calloc((size_t)rows * cols, 1);
    c->colour = calloc((size_t)rows * cols, 1);
    c->sid = calloc((size_t)rows * cols, 1);
    if (!c->bits || !c->colour || !c->sid) { bd_canvas_free(c); return -1; }
    return 0;
}

void bd_canvas_free(bd_canvas *c) {
    free(c->bits);
    free(c->colour);
    free(c->sid);
    c->bits = c->colour = c->sid = NULL;
}

void bd_canvas_clear(bd_canvas *c) {
    memset(c->bits, 0, (size_t)c->rows * c->cols);
    memset(c->colour, 0, (size_t)c->rows * c->cols);
    memset(c->sid, 0, (size_t)c->rows * c->cols);
}

/* Braille: dots 1-2-3-7 down the left column, 4-5-6-8 down the right. */
static const uint8_t braille_bit[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};

void bd_canvas_dot(bd_canvas *c, int px, int py, int colour) {
    if (px < 0 || py < 0 || px >= bd_canvas_wpx(c) || py >= bd_canvas_hpx(c)) return;
    int col = px / c->sx, row = py / c->sy, dx = px % c->sx, dy = py % c->sy;
    uint8_t bit = c->g == BD_GLYPH_BRAILLE ? braille_bit[dx][dy] : (uint8_t)(1u << dy);
    size_t i = (size_t)row * c->cols + col;
    c->bits[i] |= bit;
    c->colour[i] = (uint8_t)colour;
    c->sid[i] = (uint8_t)c->cur_sid;
}

void bd_canvas_line(bd_canvas *c, int x0, int y0, int x1, int y1, int colour) {
    int W = bd_canvas_wpx(c), H = bd_canvas_hpx(c);
    /* a far off-canvas end (log of a tiny value) would make the walk long: clamp y */
    y0 = y0 < -H ? -H : y0 > 2 * H ? 2 * H : y0;
    y1 = y1 < -H ? -H : y1 > 2 * H ? 2 * H : y1;
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (int guard = 0; guard < 4 * (W + H) + 8; guard++) {
        bd_canvas_dot(c, x0, y0, colour);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) { err += dy; x0 += sx; }
        if (e2 <= dx) { err += dx; y0 += sy; }
    }
}

/* lround without the libm call (a chart maps every point twice a frame); far
 * off-canvas values are clamped so the cast stays defined */
static inline int round_px(double v) {
    if (v > 1e8) v = 1e8;
    if (v < -1e8) v = -1e8;
    return (int)(v + (v >= 0 ? 0.5 : -0.5));
}

int bd_canvas_xpx(const bd_canvas *c, double fx) {
    return round_px(fx * (bd_canvas_wpx(c) - 1));
}

int bd_canvas_ypx(const bd_canvas *c, double fy) {
    int h = bd_canvas_hpx(c) - 1;
    return h - round_px(fy * h);
}

uint32_t bd_glyph_of(bd_glyphs g, unsigned bits) {
    bits &= 0xff;
    if (!bits) return ' ';
    if (g == BD_GLYPH_BRAILLE) return 0x2800u + bits;
    if (g == BD_GLYPH_BLOCK) {
        static const uint32_t blk[4] = {' ', 0x2580, 0x2584, 0x2588}; /* upper half, lower half, full */
        return blk[bits & 3];
    }
    static const char asc[8] = {' ', '\'', '-', '|', '.', ':', '|', '|'};
    return (uint32_t)asc[bits & 7];
}

uint32_t bd_canvas_glyph(const bd_canvas *c, int col, int row) {
    return bd_glyph_of(c->g, c->bits[(size_t)row * c->cols + col]);
}

void bd_fmt_num(char *buf, int width, double v) {
    if (width < 1) { buf[0] = '\0'; return; }
    if (!isfinite(v)) { snprintf(buf, (size_t)width + 1, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"); return; }
    if (fabs(v) < 1e-300) v = 0; /* no "-0" */
    for (int prec = 4; prec >= 1; prec--) {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if ((int)strlen(tmp) <= width) { memcpy(buf, tmp, strlen(tmp) + 1); return; }
    }
    snprintf(buf, (size_t)width + 1, "%.0e", v);
}

/* Every v[i] with d decimals (e: in e-notation) in at most width columns, each
 * within tol of its value; -1 when one does not fit or is off by more. */
static int fmt_all(const double *v, int n, int width, int e, int d, double tol, int rel, char (*out)[16]) {
    for (int i = 0; i < n; i++) {
        if (rel) tol = 0.005 * fabs(v[i]) * (1 + 1e-9);
        double x = fabs(v[i]) < 1e-300 ? 0 : v[i];
        char tmp[64];
        snprintf(tmp, sizeof tmp, e ? "%.*e" : "%.*f", d, x);
        if (tmp[0] == '-' && strtod(tmp, NULL) == 0) memmove(tmp, tmp + 1, strlen(tmp)); /* no "-0.00" */
        if ((int)strlen(tmp) > width || fabs(strtod(tmp, NULL) - x) > tol) return -1;
        memcpy(out[i], tmp, strlen(tmp) + 1);
    }
    return 0;
}

void bd_fmt_ticks(const double *v, int n, int width, int rel, char (*out)[16]) {
    if (width > 15) width = 15;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (!isfinite(v[i])) { for (int k = 0; k < n; k++) bd_fmt_num(out[k], width, v[k]); return; }
        lo = fmin(lo, v[i]);
        hi = fmax(hi, v[i]);
    }
    /* each label within 0.5% of the span (rel, or all values equal: of the value itself) */
    double span = hi - lo > 0 ? hi - lo : fmax(fabs(hi), 1e-300);
    rel = rel || hi == lo;
    double tol = 0.005 * span * (1 + 1e-9);
    for (int d = 0; d <= 8; d++)
        if (!fmt_all(v, n, width, 0, d, tol, rel, out)) return;
    for (int d = 0; d <= 6; d++)
        if (!fmt_all(v, n, width, 1, d, tol, rel, out)) return;
    for (int k = 0; k < n; k++) bd_fmt_num(out[k], width, v[k]);
}

int bd_key_layout(const int *w, int n, int width, int rows, int gap, int *row, int *col) {
    int r = 0, c = 0, placed = 0;
    for (int i = 0; i < n; i++) {
        if (w[i] > width) break;
        if (c && c + gap + w[i] > width) { r++; c = 0; }
        if (r >= rows) break;
        if (c) c += gap;
        row[i] = r;
        col[i] = c;
        c += w[i];
        placed++;
    }
    return placed;
}
