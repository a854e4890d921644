/* layout.c: see layout.h. */
#include "layout.h"

#include <string.h>

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Sizes proportional to weights summing to total, each >= min_size when
 * total allows; the rounding remainder goes to the first parts. */
static void distribute(int total, const int *weights, int n, int min_size, int *size) {
    int wsum = 0;
    for (int i = 0; i < n; i++) wsum += weights[i];
    if (wsum <= 0 || n <= 0) return;
    if (min_size * n > total) min_size = total / n;
    int left = total - min_size * n, used = 0;
    for (int i = 0; i < n; i++) {
        size[i] = min_size + left * weights[i] / wsum;
        used += size[i];
    }
    for (int i = 0; used < total; i = (i + 1) % n) { size[i]++; used++; }
}

void bd_split_rows_rect(bd_rect r, const int *weights, int n, int min_size, bd_rect *out) {
    int size[16] = {0};
    if (n > 16) n = 16;
    distribute(r.h, weights, n, min_size, size);
    int y = r.y;
    for (int i = 0; i < n; i++) {
        out[i] = (bd_rect){y, r.x, size[i], r.w};
        y += size[i];
    }
}

void bd_split_cols_rect(bd_rect r, const int *weights, int n, int min_size, bd_rect *out) {
    int size[16] = {0};
    if (n > 16) n = 16;
    distribute(r.w, weights, n, min_size, size);
    int x = r.x;
    for (int i = 0; i < n; i++) {
        out[i] = (bd_rect){r.y, x, r.h, size[i]};
        x += size[i];
    }
}

int bd_rect_overlap(bd_rect a, bd_rect b) {
    if (a.h <= 0 || a.w <= 0 || b.h <= 0 || b.w <= 0) return 0;
    return a.y < b.y + b.h && b.y < a.y + a.h && a.x < b.x + b.w && b.x < a.x + a.w;
}

int bd_rect_inside(bd_rect in, bd_rect out) {
    return in.y >= out.y && in.x >= out.x && in.y + in.h <= out.y + out.h && in.x + in.w <= out.x + out.w;
}

/* Run view: three time charts on the left (loss, eval metrics, hypergradient),
 * the weight-decomposition panels on the right, the log across the bottom. */
static void run_view(bd_layout *L) {
    bd_rect c = L->content;
    int log_h = clampi(c.h / 6, 4, 12);
    bd_rect charts = {c.y, c.x, c.h - log_h, c.w};
    L->run[BD_P_LOG] = (bd_rect){c.y + charts.h, c.x, log_h, c.w};
    bd_rect cols[2];
    bd_split_cols_rect(charts, (const int[]){3, 2}, 2, 30, cols);
    bd_rect left[3], right[3];
    bd_split_rows_rect(cols[0], (const int[]){5, 3, 3}, 3, 4, left);
    bd_split_rows_rect(cols[1], (const int[]){1, 1, 1}, 3, 4, right);
    L->run[BD_P_LOSS] = left[0];
    L->run[BD_P_EVAL] = left[1];
    L->run[BD_P_HYPER] = left[2];
    L->run[BD_P_WD] = right[0];
    L->run[BD_P_SCATTER] = right[1];
    L->run[BD_P_MAG] = right[2];
}

static void setup_view(bd_layout *L) {
    bd_rect c = L->content;
    bd_rect cols[2];
    bd_split_cols_rect(c, (const int[]){1, 1}, 2, 40, cols);
    L->setup[BD_S_FORM] = cols[0];
    int info_h = clampi(c.h / 3, 8, 14);
    L->setup[BD_S_SIDE] = (bd_rect){c.y, cols[1].x, c.h - info_h, cols[1].w};
    L->setup[BD_S_INFO] = (bd_rect){c.y + c.h - info_h, cols[1].x, info_h, cols[1].w};
}

static void runs_view(bd_layout *L) {
    bd_rect c = L->content;
    int list_w = clampi(c.w / 2, 36, 80);
    L->runs[BD_R_LIST] = (bd_rect){c.y, c.x, c.h, list_w};
    L->runs[BD_R_CHART] = (bd_rect){c.y, c.x + list_w, c.h, c.w - list_w};
}

void bd_layout_compute(bd_layout *L, int rows, int cols) {
    memset(L, 0, sizeof *L);
    L->rows = rows;
    L->cols = cols;
    L->too_small = rows < BD_MIN_ROWS || cols < BD_MIN_COLS;
    if (L->too_small) return;
    L->status = (bd_rect){0, 0, 1, cols};
    L->message = (bd_rect){rows - 2, 0, 1, cols};
    L->keybar = (bd_rect){rows - 1, 0, 1, cols};
    L->content = (bd_rect){1, 0, rows - 3, cols};
    L->help = L->content;
    run_view(L);
    setup_view(L);
    runs_view(L);
}
