/* draw.c: curses primitives (see draw.h). */
#include "draw.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "text.h"

/* UTF-8 -> wide characters that fit in width columns (bad bytes become '?'). */
static int to_wide(const char *s, wchar_t *out, int cap, int width, int *cols) {
    mbstate_t st;
    memset(&st, 0, sizeof st);
    int n = 0, used = 0;
    size_t len = strlen(s);
    while (len && n < cap - 1) {
        wchar_t wc;
        size_t k = mbrtowc(&wc, s, len, &st);
        if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
            memset(&st, 0, sizeof st);
            wc = L'?';
            k = 1;
        }
        if (wc < 32 || wc == 127) wc = L' '; /* a stray control byte must not move the cursor */
        int cw = wcwidth(wc);
        if (cw < 0) { wc = L'?'; cw = 1; }
        if (used + cw > width) break;
        out[n++] = wc;
        used += cw;
        s += k;
        len -= k;
    }
    out[n] = L'\0';
    *cols = used;
    return n;
}

int bd_text_width(const char *text) {
    wchar_t buf[1024];
    int cols;
    to_wide(text, buf, 1024, 1 << 20, &cols);
    return cols;
}

int bd_put(WINDOW *w, int y, int x, int width, attr_t a, const char *text) {
    if (width <= 0 || y < 0 || x < 0) return 0;
    wchar_t buf[1024];
    int cols, n = to_wide(text, buf, 1024, width, &cols);
    if (!n) return 0;
    wattrset(w, a);
    mvwaddnwstr(w, y, x, buf, n);
    wattrset(w, A_NORMAL);
    return cols;
}

int bd_put_wrapped(WINDOW *w, int y, int x, int width, int max_rows, attr_t at, const char *text) {
    int rows = 0;
    const char *p = text;
    while (*p && rows < max_rows && width > 0) {
        int len = (int)strlen(p), cut = len;
        if (bd_text_width(p) > width) {
            /* break at the last space that fits (bytes approximate columns for the ASCII we print) */
            cut = width < len ? width : len;
            int sp = cut;
            while (sp > 0 && p[sp] != ' ') sp--;
            if (sp > width / 3) cut = sp;
        }
        char line[512];
        bd_fmt(line, sizeof line, "%.*s", cut, p);
        if (w) bd_put(w, y + rows, x, width, at, line);
        rows++;
        p += cut;
        while (*p == ' ') p++;
    }
    return rows;
}

int bd_putf(WINDOW *w, int y, int x, int width, attr_t a, const char *fmt, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return bd_put(w, y, x, width, a, buf);
}

void bd_put_glyph(WINDOW *w, int y, int x, unsigned cp, attr_t a) {
    wchar_t ws[2] = {(wchar_t)cp, L'\0'};
    cchar_t cc;
    setcchar(&cc, ws, a & ~A_COLOR, (short)PAIR_NUMBER(a), NULL);
    mvwadd_wch(w, y, x, &cc);
}

void bd_box(WINDOW *w, const bd_term *t, const char *title, int focused) {
    attr_t a = bd_attr(t, focused ? BD_C_FOCUS : BD_C_BORDER);
    wattrset(w, a);
    if (t->glyphs == BD_GLYPH_ASCII) wborder(w, '|', '|', '-', '-', '+', '+', '+', '+'); /* no line drawing needed */
    else box(w, 0, 0);
    wattrset(w, A_NORMAL);
    int W = getmaxx(w);
    if (title && title[0] && W > 6) {
        bd_put(w, 0, 2, W - 4, a, " ");
        int used = bd_put(w, 0, 3, W - 6, focused ? a : bd_attr(t, BD_C_NORMAL) | A_BOLD, title);
        bd_put(w, 0, 3 + used, 1, a, " ");
    }
}

int bd_legend_mark(WINDOW *w, int y, int x, int width, const bd_term *t, int colour, int series, const char *label) {
    if (width < 4) return 0;
    char mark[8];
    if (series >= 0 && bd_chart_marks(t)) bd_fmt(mark, sizeof mark, "%c%c", bd_series_mark(series), bd_series_mark(series));
    else bd_fmt(mark, sizeof mark, "%s", t->utf8 ? "\u2501\u2501" : "--");
    int used = bd_put(w, y, x, width, bd_attr(t, colour) | A_BOLD, mark);
    used += bd_put(w, y, x + used, width - used, bd_attr(t, BD_C_NORMAL), " ");
    used += bd_put(w, y, x + used, width - used, bd_attr(t, BD_C_NORMAL), label);
    return used;
}

int bd_legend(WINDOW *w, int y, int x, int width, const bd_term *t, int colour, const char *label) {
    return bd_legend_mark(w, y, x, width, t, colour, -1, label);
}

int bd_chart_marks(const bd_term *t) { return t->glyphs == BD_GLYPH_ASCII || t->mono; }

void bd_draw_chart(WINDOW *w, int y, int x, const bd_chart_frame *f, const bd_term *t) {
    attr_t dim = bd_attr(t, BD_C_DIM);
    if (!f->have_data) {
        bd_put(w, y + f->h / 2, x + (f->w > 12 ? (f->w - 12) / 2 : 0), f->w, dim, "(no data yet)");
        return;
    }
    for (int i = 0; i < 3; i++) {
        if (f->ylab_row[i] < 0) continue;
        int len = (int)strlen(f->ylab[i]);
        bd_put(w, y + f->ylab_row[i], x + f->gutter - len, len, dim, f->ylab[i]);
    }
    if (f->gutter) {
        wattrset(w, dim);
        mvwvline(w, y, x + f->gutter, t->glyphs == BD_GLYPH_ASCII ? '|' : ACS_VLINE, f->plot_rows);
        wattrset(w, A_NORMAL);
    }
    const bd_canvas *cv = &f->cv;
    const int marks = bd_chart_marks(t);
    for (int r = 0; r < cv->rows; r++)
        for (int c = 0; c < cv->cols; c++) {
            const size_t i = (size_t)r * cv->cols + c;
            unsigned char bits = cv->bits[i];
            int cur = c == f->cursor_col;
            if (!bits) {
                if (cur) bd_put_glyph(w, y + r, x + f->plot_x + c, t->glyphs == BD_GLYPH_ASCII ? '|' : 0x2502, dim);
                continue;
            }
            const int colour = cv->colour[i] & ~BD_FAINT, faint = (cv->colour[i] & BD_FAINT) != 0;
            attr_t at = bd_attr(t, colour) | (faint ? A_DIM : 0) | (cur ? A_REVERSE : 0);
            unsigned glyph = bd_canvas_glyph(cv, c, r);
            /* where colour cannot tell series apart: each series its character, the raw ones '.' */
            if (marks && cv->sid[i]) glyph = faint ? '.' : (unsigned)bd_series_mark(cv->sid[i] - 1);
            bd_put_glyph(w, y + r, x + f->plot_x + c, glyph, at);
        }
    if (f->marker_row >= 0)
        bd_put_glyph(w, y + f->marker_row, x + f->plot_x + f->marker_col, t->utf8 ? 0x25C6 : '^',
                     bd_attr(t, f->marker_colour) | A_BOLD);
    if (f->xlab_row >= 0) {
        int row = y + f->xlab_row, width = f->w - f->plot_x;
        int lo = bd_put(w, row, x + f->plot_x, width, dim, f->xlo);
        int len = (int)strlen(f->xhi);
        int hi_at = f->w - len;
        if (len + lo + 1 < width) bd_put(w, row, x + hi_at, len, dim, f->xhi);
        else hi_at = f->w;
        int tl = (int)strlen(f->xtitle), mid = f->plot_x + (width - tl) / 2;
        if (tl && mid > f->plot_x + lo + 1 && mid + tl < hi_at - 1) bd_put(w, row, x + mid, tl, dim, f->xtitle);
        if (f->ytitle[0]) bd_put(w, row, x, f->gutter, dim, f->ytitle);
    }
}
