/* Plot scaling: axis ranges (linear, nice, flat, log-y), EMA, braille /
 * block / ASCII dot placement, pixel mapping, the least-squares slope on
 * known data (including the dD-dM points of a run), and whole chart
 * frames (marker cell, labels, log-y with non-positive values). */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "chart.h"
#include "plot.h"
#include "series.h"

static void test_axis_linear(void **state) {
    (void)state;
    bd_axis ax;
    double v[] = {1, 3, 2, NAN, INFINITY};
    bd_axis_init(&ax, 0);
    bd_axis_add(&ax, v, 5);
    assert_int_equal(ax.n, 3);
    assert_int_equal(bd_axis_finish(&ax, 0), 0);
    assert_float_equal(ax.lo, 1, 0);
    assert_float_equal(ax.hi, 3, 0);
    assert_float_equal(bd_axis_frac(&ax, 2), 0.5, 1e-12);
    assert_float_equal(bd_axis_value(&ax, 0.25), 1.5, 1e-12);
    assert_true(isnan(bd_axis_frac(&ax, NAN)));
    /* nice: [0.13, 0.92] rounds out to a 0.2 step */
    double w[] = {0.13, 0.92};
    bd_axis_init(&ax, 0);
    bd_axis_add(&ax, w, 2);
    bd_axis_finish(&ax, 1);
    assert_float_equal(ax.lo, 0.0, 1e-12);
    assert_float_equal(ax.hi, 1.0, 1e-12);
    /* nice never cuts data off */
    double u[] = {-3.7, 12.1};
    bd_axis_init(&ax, 0);
    bd_axis_add(&ax, u, 2);
    bd_axis_finish(&ax, 1);
    assert_true(ax.lo <= -3.7 && ax.hi >= 12.1);
}

static void test_axis_flat_and_empty(void **state) {
    (void)state;
    bd_axis ax;
    double v[] = {5, 5, 5};
    bd_axis_init(&ax, 0);
    bd_axis_add(&ax, v, 3);
    assert_int_equal(bd_axis_finish(&ax, 1), 0);
    assert_true(ax.lo < 5 && ax.hi > 5);
    assert_float_equal(bd_axis_frac(&ax, 5), 0.5, 1e-12);
    double z[] = {0, 0};
    bd_axis_init(&ax, 0);
    bd_axis_add(&ax, z, 2);
    bd_axis_finish(&ax, 1);
    assert_true(ax.hi > ax.lo);
    bd_axis_init(&ax, 0);
    assert_int_equal(bd_axis_finish(&ax, 1), -1);
}

static void test_axis_log(void **state) {
    (void)state;
    bd_axis ax;
    double v[] = {0.01, 1, 100, 0, -5};
    bd_axis_init(&ax, 1);
    bd_axis_add(&ax, v, 5);
    assert_int_equal(ax.n, 3); /* 0 and -5 have no place on a log axis */
    bd_axis_finish(&ax, 1);
    assert_float_equal(ax.lo, -2, 1e-12);
    assert_float_equal(ax.hi, 2, 1e-12);
    assert_float_equal(bd_axis_frac(&ax, 1), 0.5, 1e-12);
    assert_float_equal(bd_axis_frac(&ax, 10), 0.75, 1e-12);
    assert_float_equal(bd_axis_value(&ax, 0.75), 10, 1e-9);
    assert_true(isnan(bd_axis_frac(&ax, 0)));
    assert_true(isnan(bd_axis_frac(&ax, -1)));
}

static void test_ema(void **state) {
    (void)state;
    double y[] = {1, 0, 0, NAN, 2}, out[5];
    bd_ema(y, 5, 0.5, out);
    assert_float_equal(out[0], 1, 0);
    assert_float_equal(out[1], 0.5, 1e-15);
    assert_float_equal(out[2], 0.25, 1e-15);
    assert_float_equal(out[3], 0.25, 1e-15); /* NaN carries the previous value */
    assert_float_equal(out[4], 1.125, 1e-15);
    bd_ema(y, 3, 0, out); /* a = 0: no smoothing */
    assert_float_equal(out[1], 0, 0);
    double lead[] = {NAN, 3, 5};
    bd_ema(lead, 3, 0.5, lead); /* in place; a leading NaN stays NaN */
    assert_true(isnan(lead[0]));
    assert_float_equal(lead[1], 3, 0);
    assert_float_equal(lead[2], 4, 0);
}

static void test_braille_dots(void **state) {
    (void)state;
    bd_canvas c;
    assert_int_equal(bd_canvas_init(&c, 2, 1, BD_GLYPH_BRAILLE), 0);
    assert_int_equal(bd_canvas_wpx(&c), 4);
    assert_int_equal(bd_canvas_hpx(&c), 4);
    assert_int_equal(bd_canvas_glyph(&c, 0, 0), ' ');
    bd_canvas_dot(&c, 0, 0, 3); /* dot 1 */
    assert_int_equal(bd_canvas_glyph(&c, 0, 0), 0x2801);
    bd_canvas_dot(&c, 0, 3, 3); /* dot 7 */
    assert_int_equal(bd_canvas_glyph(&c, 0, 0), 0x2841);
    bd_canvas_dot(&c, 1, 3, 3); /* dot 8 */
    bd_canvas_dot(&c, 1, 0, 3); /* dot 4 */
    assert_int_equal(bd_canvas_glyph(&c, 0, 0), 0x28C9);
    bd_canvas_dot(&c, 3, 1, 5); /* second cell, right column, dot 5 */
    assert_int_equal(bd_canvas_glyph(&c, 1, 0), 0x2810);
    assert_int_equal(c.colour[1], 5);
    bd_canvas_dot(&c, 4, 0, 1); /* off the canvas: ignored */
    bd_canvas_dot(&c, -1, 0, 1);
    for (int x = 0; x < 2; x++)
        for (int y = 0; y < 4; y++) bd_canvas_dot(&c, x, y, 1);
    assert_int_equal(bd_canvas_glyph(&c, 0, 0), 0x28FF);
    bd_canvas_clear(&c);
    assert_int_equal(bd_canvas_glyph(&c, 0, 0), ' ');
    bd_canvas_free(&c);
}

static void test_block_and_ascii(void **state) {
    (void)state;
    bd_canvas c;
    bd_canvas_init(&c, 1, 2, BD_GLYPH_BLOCK);
    assert_int_equal(bd_canvas_hpx(&c), 4);
    bd_canvas_dot(&c, 0, 0, 1);
    assert_int_equal(bd_canvas_glyph(&c, 0, 0), 0x2580);
    bd_canvas_dot(&c, 0, 3, 1);
    assert_int_equal(bd_canvas_glyph(&c, 0, 1), 0x2584);
    bd_canvas_dot(&c, 0, 1, 1);
    assert_int_equal(bd_canvas_glyph(&c, 0, 0), 0x2588);
    bd_canvas_free(&c);
    bd_canvas_init(&c, 1, 1, BD_GLYPH_ASCII);
    assert_int_equal(bd_canvas_hpx(&c), 3);
    bd_canvas_dot(&c, 0, 2, 1);
    assert_int_equal(bd_canvas_glyph(&c, 0, 0), '.');
    bd_canvas_dot(&c, 0, 0, 1);
    assert_int_equal(bd_canvas_glyph(&c, 0, 0), ':');
    bd_canvas_free(&c);
    assert_int_equal(bd_glyph_of(BD_GLYPH_ASCII, 2), '-');
    for (unsigned b = 0; b < 256; b++) assert_true(bd_glyph_of(BD_GLYPH_ASCII, b) < 128);
}

static void test_pixel_mapping_and_lines(void **state) {
    (void)state;
    bd_canvas c;
    bd_canvas_init(&c, 10, 5, BD_GLYPH_BRAILLE); /* 20 x 20 px */
    assert_int_equal(bd_canvas_xpx(&c, 0), 0);
    assert_int_equal(bd_canvas_xpx(&c, 1), 19);
    assert_int_equal(bd_canvas_ypx(&c, 1), 0);   /* top */
    assert_int_equal(bd_canvas_ypx(&c, 0), 19);  /* bottom */
    bd_canvas_line(&c, 0, 19, 19, 0, 1);         /* a diagonal touches every column of cells */
    for (int col = 0; col < 10; col++) {
        int any = 0;
        for (int row = 0; row < 5; row++) any |= c.bits[row * 10 + col] != 0;
        assert_true(any);
    }
    bd_canvas_line(&c, 0, -100000, 19, 100000, 2); /* far off-canvas ends: clipped, finite */
    bd_canvas_free(&c);
}

static void test_slope(void **state) {
    (void)state;
    double x[] = {1e-4, 2e-4, 3e-4, 4e-4}, y[4], k, b;
    for (int i = 0; i < 4; i++) y[i] = -8.04 * x[i] + 0.5;
    assert_int_equal(bd_fit_slope(x, y, 4, &k, &b), 0);
    assert_float_equal(k, -8.04, 1e-9);
    assert_float_equal(b, 0.5, 1e-12);
    double x2[] = {1, 2, 3, 4, 5}, y2[] = {2.1, 3.9, 6.2, 7.8, 10.1};
    bd_fit_slope(x2, y2, 5, &k, &b); /* numpy.polyfit(x, y, 1) = [1.99, 0.05] */
    assert_float_equal(k, 1.99, 1e-12);
    assert_float_equal(b, 0.05, 1e-12);
    double same[] = {2, 2, 2};
    assert_int_equal(bd_fit_slope(same, y2, 3, &k, &b), -1);
    assert_int_equal(bd_fit_slope(x2, y2, 1, &k, &b), -1);
}

static void test_wd_points_slope(void **state) {
    (void)state;
    bd_run_data d;
    bd_run_data_init(&d);
    /* two layers of query, three checkpoints: dM = -1.78 dD + 0.01 exactly */
    for (int l = 0; l < 2; l++)
        for (int t = 1; t <= 3; t++) {
            char n[64];
            double dd = 1e-3 * t * (l + 1);
            snprintf(n, sizeof n, "wd/layer.%d.query/dD", l);
            bd_run_data_add(&d, n, t * 10, dd);
            snprintf(n, sizeof n, "wd/layer.%d.query/dM", l);
            bd_run_data_add(&d, n, t * 10, -1.78 * dd + 0.01);
            snprintf(n, sizeof n, "wd/layer.%d.value/dM", l);
            bd_run_data_add(&d, n, t * 10, 5.0);
        }
    bd_wd_key keys[BD_WD_MAX];
    int nk = bd_wd_keys(&d, keys, BD_WD_MAX);
    assert_int_equal(nk, 4);
    char mods[8][48];
    assert_int_equal(bd_wd_modules(keys, nk, mods, 8), 2);
    assert_string_equal(mods[0], "query");
    double dd[16], dm[16], k, b;
    int n = bd_wd_points(&d, "query", dd, dm, 16);
    assert_int_equal(n, 6); /* one point per layer per checkpoint */
    assert_int_equal(bd_fit_slope(dd, dm, n, &k, &b), 0);
    assert_float_equal(k, -1.78, 1e-9);
    assert_int_equal(bd_wd_points(&d, "value", dd, dm, 16), 0); /* no dD: no points */
    bd_run_data_free(&d);
}

static void test_chart_frame(void **state) {
    (void)state;
    double x[10], y[10];
    for (int i = 0; i < 10; i++) { x[i] = i + 1; y[i] = 9 - i; } /* 9 .. 0: a nice range as it is */
    bd_chart_spec s;
    memset(&s, 0, sizeof s);
    s.s[0] = (bd_chart_series){x, y, 10, 3, "loss", 0, 1};
    s.ns = 1;
    s.x_from_zero = 1;
    s.has_marker = 1;
    s.mx = 10;
    s.my = 0;
    bd_chart_frame f;
    assert_int_equal(bd_chart_build(&f, &s, 40, 10, BD_GLYPH_BRAILLE), 0);
    assert_true(f.have_data);
    assert_int_equal(f.plot_rows, 9);
    assert_int_equal(f.cv.cols, 40 - f.plot_x);
    assert_float_equal(f.ax.lo, 0, 0);            /* steps start at 0 */
    assert_float_equal(f.ax.hi, 10, 0);
    assert_string_equal(f.xhi, "10");
    assert_int_equal(f.marker_col, f.cv.cols - 1); /* the last step, at the right edge */
    assert_int_equal(f.marker_row, f.plot_rows - 1); /* the smallest value, at the bottom */
    assert_int_equal(f.ylab_row[0], 0);
    assert_int_equal(f.ylab_row[2], f.plot_rows - 1);
    int dots = 0;
    for (int i = 0; i < f.cv.cols * f.cv.rows; i++) dots += f.cv.bits[i] != 0;
    assert_true(dots > f.cv.cols / 2);
    bd_chart_frame_free(&f);
    /* log-y with a zero and a negative value: skipped, not a crash */
    y[3] = -2;
    y[4] = -1;
    s.logy = 1;
    s.ema = 0.9;
    assert_int_equal(bd_chart_build(&f, &s, 30, 6, BD_GLYPH_ASCII), 0);
    assert_true(f.have_data);
    assert_true(f.ay.log);
    bd_chart_frame_free(&f);
    /* nothing to plot */
    s.ns = 0;
    assert_int_equal(bd_chart_build(&f, &s, 30, 6, BD_GLYPH_BRAILLE), 0);
    assert_false(f.have_data);
    bd_chart_frame_free(&f);
}

static void test_scatter_fit_frame(void **state) {
    (void)state;
    double x[] = {0.001, 0.002, 0.003}, y[] = {0.3, 0.2, 0.1};
    bd_chart_spec s;
    memset(&s, 0, sizeof s);
    s.s[0] = (bd_chart_series){x, y, 3, 1, "L0", 1, 0};
    s.ns = 1;
    s.fit = 1;
    bd_chart_frame f;
    bd_chart_build(&f, &s, 40, 10, BD_GLYPH_BRAILLE);
    assert_true(f.have_fit);
    assert_float_equal(f.k, -100, 1e-9);
    bd_chart_frame_free(&f);
}

static void test_fmt_num(void **state) {
    (void)state;
    char b[16];
    bd_fmt_num(b, 7, 0.000123456);
    assert_true(strlen(b) <= 7);
    bd_fmt_num(b, 7, 1234567890.0);
    assert_true(strlen(b) <= 7);
    bd_fmt_num(b, 7, 1.5);
    assert_string_equal(b, "1.5");
    bd_fmt_num(b, 7, -0.0);
    assert_string_equal(b, "0");
    bd_fmt_num(b, 7, NAN);
    assert_string_equal(b, "nan");
}

/* Tick labels share their decimals, the fewest that keep each within 0.5% of the span. */
static void test_ticks(void **state) {
    (void)state;
    char out[3][16];
    const double a[3] = {0.5, 0.25, 0};
    bd_fmt_ticks(a, 3, 7, 0, out);
    assert_string_equal(out[0], "0.50");
    assert_string_equal(out[1], "0.25");
    assert_string_equal(out[2], "0.00");
    const double b[3] = {2.5, 1.25, 0};
    bd_fmt_ticks(b, 3, 7, 0, out);
    assert_string_equal(out[0], "2.50"); /* not "2" "1" "0": 1.25 is not 1 */
    assert_string_equal(out[1], "1.25");
    const double c[3] = {8, 4, 0};
    bd_fmt_ticks(c, 3, 7, 0, out);
    assert_string_equal(out[0], "8");
    assert_string_equal(out[2], "0");
    const double d[2] = {0.000123, 0.000456};
    bd_fmt_ticks(d, 2, 8, 0, out);
    assert_string_equal(out[0], "0.000123");
    assert_string_equal(out[1], "0.000456");
    const double d2[2] = {1.23e-7, 4.56e-7}; /* too many decimals for 8 columns: e-notation, alike */
    bd_fmt_ticks(d2, 2, 8, 0, out);
    assert_string_equal(out[0], "1.23e-07");
    assert_string_equal(out[1], "4.56e-07");
    const double e[3] = {10, 0.3162, 0.01}; /* a log axis: each label close to its own value */
    bd_fmt_ticks(e, 3, 7, 1, out);
    assert_string_equal(out[0], "10.000");
    assert_string_equal(out[2], "0.010");
    const double f[2] = {-0.0, 1};
    bd_fmt_ticks(f, 2, 7, 0, out);
    assert_string_equal(out[0], "0"); /* no "-0" */
}

/* Key entries are placed whole, left to right, row by row; the rest is counted out. */
static void test_key_layout(void **state) {
    (void)state;
    int w[4] = {10, 10, 10, 25}, row[4], col[4];
    assert_int_equal(bd_key_layout(w, 4, 30, 1, 2, row, col), 2); /* 10 + 2 + 10 + 2 + 10 > 30 */
    assert_int_equal(col[1], 12);
    assert_int_equal(bd_key_layout(w, 4, 34, 2, 2, row, col), 4);
    assert_int_equal(row[2], 0);
    assert_int_equal(col[2], 24);
    assert_int_equal(row[3], 1);
    assert_int_equal(col[3], 0);
    assert_int_equal(bd_key_layout(w, 4, 20, 2, 2, row, col), 2); /* one a row; the 3rd row is not there */
    int wide[1] = {40};
    assert_int_equal(bd_key_layout(wide, 1, 30, 3, 2, row, col), 0); /* never cut */
}

/* A smoothed series: the raw one is drawn faint under it; each dot names its series; the cursor. */
static void test_chart_layers(void **state) {
    (void)state;
    double x[20], y[20], y2[20];
    for (int i = 0; i < 20; i++) { x[i] = i; y[i] = i % 2 ? 1 : 0; y2[i] = 5; }
    bd_chart_spec s;
    memset(&s, 0, sizeof s);
    s.s[0] = (bd_chart_series){x, y, 20, 3, "train", 0, 1};
    s.s[1] = (bd_chart_series){x, y2, 20, 4, "flat", 0, 0};
    s.ns = 2;
    s.ema = 0.6;
    s.xtitle = "step";
    s.ytitle = "loss";
    s.has_cursor = 1;
    s.cx = 10;
    bd_chart_frame f;
    assert_int_equal(bd_chart_build(&f, &s, 40, 12, BD_GLYPH_ASCII), 0);
    int faint = 0, sid1 = 0, sid2 = 0;
    for (int i = 0; i < f.cv.cols * f.cv.rows; i++) {
        if (!f.cv.bits[i]) continue;
        faint += (f.cv.colour[i] & BD_FAINT) != 0;
        sid1 += f.cv.sid[i] == 1;
        sid2 += f.cv.sid[i] == 2;
        if (f.cv.colour[i] & BD_FAINT) assert_int_equal(f.cv.sid[i], 1); /* only the smoothed one has a raw twin */
    }
    assert_true(faint > 0 && sid1 > faint && sid2 > 0);
    /* the raw zig-zag reaches 0 and 1: the axis holds it, not just the smoothed curve */
    assert_true(f.ay.lo <= 0 && f.ay.hi >= 5);
    assert_int_equal(f.cursor_col, bd_canvas_xpx(&f.cv, 10.0 / 19.0) / f.cv.sx);
    assert_string_equal(f.xtitle, "step");
    assert_string_equal(f.ytitle, "loss");
    bd_chart_frame_free(&f);
    s.ema = 0; /* no smoothing: no faint twin */
    assert_int_equal(bd_chart_build(&f, &s, 40, 12, BD_GLYPH_ASCII), 0);
    for (int i = 0; i < f.cv.cols * f.cv.rows; i++) assert_false(f.cv.colour[i] & BD_FAINT);
    bd_chart_frame_free(&f);
    assert_true(bd_series_mark(0) == '*' && bd_series_mark(1) == '+' && bd_series_mark(2) == 'o');
}

/* The overfitting readout: the gap against the train loss of the same window, its trend, the
 * eval minimum and the evaluations since. */
static void test_overfit(void **state) {
    (void)state;
    bd_run_data d;
    bd_run_data_init(&d);
    bd_overfit o;
    assert_int_equal(bd_overfit_readout(&d, LONG_MAX, &o), -1);
    for (int s = 1; s <= 30; s++) bd_run_data_add(&d, "train/loss", s, 2.0 - s * 0.05); /* 1.95 .. 0.5 */
    const double ev[6] = {1.8, 1.4, 1.2, 1.2, 1.3, 1.5};    /* at 5, 10, ..., 30 */
    for (int k = 0; k < 6; k++) bd_run_data_add(&d, "eval/loss", 5 * (k + 1), ev[k]);
    assert_int_equal(bd_overfit_readout(&d, LONG_MAX, &o), 0);
    assert_int_equal(o.n_evals, 6);
    assert_int_equal(o.min_step, 20); /* the last time it reached 1.2 */
    assert_int_equal(o.rising, 2);
    /* train steps 26..30: mean of 0.7 0.65 0.6 0.55 0.5 = 0.6 */
    assert_float_equal(o.gap, 1.5 - 0.6, 1e-12);
    /* gaps at 20, 25, 30 (train means of steps 16-20, 21-25, 26-30: 1.1, 0.85, 0.6):
     * 0.1, 0.45, 0.9: slope 0.4 a evaluation */
    assert_float_equal(o.trend, 0.4, 1e-12);
    assert_int_equal(bd_overfit_readout(&d, 20, &o), 0); /* as of the cursor at step 20 */
    assert_int_equal(o.n_evals, 4);
    assert_int_equal(o.rising, 0);
    assert_int_equal(o.min_step, 20);
    bd_run_data_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticks),
        cmocka_unit_test(test_key_layout),
        cmocka_unit_test(test_chart_layers),
        cmocka_unit_test(test_overfit),
        cmocka_unit_test(test_axis_linear),
        cmocka_unit_test(test_axis_flat_and_empty),
        cmocka_unit_test(test_axis_log),
        cmocka_unit_test(test_ema),
        cmocka_unit_test(test_braille_dots),
        cmocka_unit_test(test_block_and_ascii),
        cmocka_unit_test(test_pixel_mapping_and_lines),
        cmocka_unit_test(test_slope),
        cmocka_unit_test(test_wd_points_slope),
        cmocka_unit_test(test_chart_frame),
        cmocka_unit_test(test_scatter_fit_frame),
        cmocka_unit_test(test_fmt_num),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
