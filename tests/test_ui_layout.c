/* The layout arithmetic: for every terminal size from 80x24 to 300x100,
 * each view's panels lie inside the content area, never overlap, are big
 * enough to hold a bordered chart, and tile the content exactly; the bars
 * stay off the content; smaller terminals say too_small. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>

#include "layout.h"

static long area(bd_rect r) { return (long)r.h * r.w; }

/* Panels: inside content, pairwise disjoint, at least min_h x min_w, tiling content. */
static void check_panels(const bd_layout *L, const bd_rect *p, int n, int min_h, int min_w, const char *view) {
    long sum = 0;
    for (int i = 0; i < n; i++) {
        if (!bd_rect_inside(p[i], L->content) || p[i].h < min_h || p[i].w < min_w) {
            fprintf(stderr, "%dx%d %s panel %d: y%d x%d h%d w%d (content y%d x%d h%d w%d)\n", L->cols, L->rows,
                    view, i, p[i].y, p[i].x, p[i].h, p[i].w, L->content.y, L->content.x, L->content.h, L->content.w);
            fail();
        }
        for (int j = 0; j < i; j++)
            if (bd_rect_overlap(p[i], p[j])) {
                fprintf(stderr, "%dx%d %s: panels %d and %d overlap\n", L->cols, L->rows, view, i, j);
                fail();
            }
        sum += area(p[i]);
    }
    if (sum != area(L->content)) {
        fprintf(stderr, "%dx%d %s: panels cover %ld cells of %ld\n", L->cols, L->rows, view, sum, area(L->content));
        fail();
    }
}

static void test_every_size(void **state) {
    (void)state;
    for (int rows = BD_MIN_ROWS; rows <= 100; rows++)
        for (int cols = BD_MIN_COLS; cols <= 300; cols++) {
            bd_layout L;
            bd_layout_compute(&L, rows, cols);
            assert_false(L.too_small);
            bd_rect screen = {0, 0, rows, cols};
            bd_rect bars[3] = {L.status, L.message, L.keybar};
            for (int i = 0; i < 3; i++) {
                assert_true(bd_rect_inside(bars[i], screen));
                assert_int_equal(bars[i].h, 1);
                assert_int_equal(bars[i].w, cols);
                assert_false(bd_rect_overlap(bars[i], L.content));
                for (int j = 0; j < i; j++) assert_false(bd_rect_overlap(bars[i], bars[j]));
            }
            assert_int_equal(area(L.content) + 3L * cols, (long)rows * cols);
            /* a bordered chart needs 2 inner rows and room for labels */
            check_panels(&L, L.run, BD_RUN_PANELS, 4, 24, "run");
            check_panels(&L, L.setup, BD_SETUP_PANELS, 8, 40, "setup");
            check_panels(&L, L.runs, BD_RUNS_PANELS, 8, 36, "runs");
            check_panels(&L, &L.help, 1, 8, 40, "help");
        }
}

static void test_too_small(void **state) {
    (void)state;
    int sizes[][2] = {{23, 80}, {24, 79}, {10, 40}, {1, 1}, {0, 0}, {23, 300}, {100, 79}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        bd_layout L;
        bd_layout_compute(&L, sizes[i][0], sizes[i][1]);
        assert_true(L.too_small);
    }
}

static void test_split_exact(void **state) {
    (void)state;
    bd_rect out[5];
    for (int h = 0; h <= 60; h++) {
        bd_rect r = {3, 7, h, 20};
        bd_split_rows_rect(r, (const int[]){5, 3, 3, 1, 2}, 5, 4, out);
        int y = 3;
        for (int i = 0; i < 5; i++) {
            assert_int_equal(out[i].y, y);
            assert_int_equal(out[i].x, 7);
            assert_int_equal(out[i].w, 20);
            assert_true(out[i].h >= 0);
            if (h >= 20) assert_true(out[i].h >= 4);
            y += out[i].h;
        }
        assert_int_equal(y, 3 + h);
    }
    bd_split_cols_rect((bd_rect){0, 0, 5, 101}, (const int[]){1, 1}, 2, 0, out);
    assert_int_equal(out[0].w + out[1].w, 101);
    assert_int_equal(out[1].x, out[0].w);
}

static void test_rect_predicates(void **state) {
    (void)state;
    bd_rect a = {0, 0, 5, 5}, b = {4, 4, 2, 2}, c = {5, 0, 1, 5}, empty = {1, 1, 0, 3};
    assert_true(bd_rect_overlap(a, b));
    assert_false(bd_rect_overlap(a, c));
    assert_false(bd_rect_overlap(a, empty));
    assert_true(bd_rect_inside((bd_rect){1, 1, 4, 4}, a));
    assert_false(bd_rect_inside(b, a));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_size),
        cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_split_exact),
        cmocka_unit_test(test_rect_predicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
