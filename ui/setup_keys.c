/* setup_keys.c: the set-up view's keys. The form lists every key of the
 * config key table; Enter acts by the key's widget (edit as text, cycle,
 * browse for a model directory or a CSV, pick a column, split sliders).
 * Edits are validated on every keystroke through bd_config_set on a
 * scratch copy (the error shows inline, view_setup.c). Configs load from
 * and save to .ini files (saved atomically). */
#include "app.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "text.h"
#include "trainable.h"

#define R (BD_KEY_HANDLED | BD_KEY_REDRAW)

static void key_info(int i, bd_config_key_info *k) { bd_config_key(i, k); }

static int is_fkey(int key) { return key <= BD_FN(KEY_F0) && key >= BD_FN(KEY_F(63)); }

/* After any change: what depends on the model and the data is reread (cached). */
static void changed(bd_app *a) {
    bd_app_refresh_model(a);
    bd_app_refresh_data(a);
    a->runs_scanned = 0; /* out_dir may have changed: the runs browser rescans */
}

static void apply(bd_app *a, const char *key, const char *value) {
    char err[BD_ERR_MAX];
    if (bd_form_apply(&a->cfg, key, value, err, sizeof err)) bd_app_message(a, 1, "%s", err);
    else bd_app_message(a, 0, "%s = %s", key, value);
    changed(a);
}

/* ---- loading and saving configs ---- */

static void load_config(bd_app *a, const char *path) {
    bd_config *c = malloc(sizeof *c);
    bd_err e = {{0}};
    if (!c) return;
    bd_config_defaults(c);
    if (bd_config_load(c, path, &e)) bd_app_message(a, 1, "%s", e.msg);
    else {
        a->cfg = *c;
        bd_fmt(a->cfg_path, sizeof a->cfg_path, "%s", path);
        bd_app_message(a, 0, "loaded %s", path);
        changed(a);
    }
    free(c);
}

/* The config's paths as absolute ones, so the saved file means the same from any directory
 * (bidora reads a config's relative paths against the working directory, not the file's). */
static void absolute_paths(bd_config *c) {
    static const char *const keys[] = {"model", "data", "val_data", "eval_data", "init_adapter", "out_dir"};
    char cwd[BD_STR], v[BD_STR], abs_[2 * BD_STR + 2];
    if (!getcwd(cwd, sizeof cwd)) return;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (bd_config_get(c, keys[i], v, sizeof v) || !v[0] || v[0] == '/') continue;
        char *real = realpath(v, NULL);
        if (real) bd_fmt(abs_, sizeof abs_, "%s", real);
        else bd_fmt(abs_, sizeof abs_, "%s/%s", cwd, v);
        free(real);
        bd_err e = {{0}};
        bd_config_set(c, keys[i], abs_, &e); /* a path too long stays as it was */
    }
}

static void save_config(bd_app *a, const char *path) {
    char *buf = NULL;
    size_t len = 0;
    bd_err e = {{0}};
    bd_config *c = malloc(sizeof *c);
    FILE *f = c ? open_memstream(&buf, &len) : NULL;
    if (!f) { free(c); bd_app_message(a, 1, "out of memory"); return; }
    *c = a->cfg;
    absolute_paths(c);
    fprintf(f, "# bidora run configuration, saved by the workbench (bidora tui -c %s)\n", path);
    bd_config_write(c, f);
    fclose(f);
    free(c);
    if (bd_write_file_atomic(path, buf, len, &e)) bd_app_message(a, 1, "save failed: %s", e.msg);
    else {
        bd_fmt(a->cfg_path, sizeof a->cfg_path, "%s", path);
        bd_app_message(a, 0, "saved %s", path);
    }
    free(buf);
}

/* ---- the form's keys ---- */

static int k_move(bd_app *a, int key) {
    int n = bd_config_n_keys(), d = 0;
    if (key == BD_FN(KEY_UP) || key == 'k') d = -1;
    else if (key == BD_FN(KEY_DOWN) || key == 'j') d = 1;
    else if (key == BD_FN(KEY_PPAGE)) d = -10;
    else if (key == BD_FN(KEY_NPAGE)) d = 10;
    else if (key == BD_FN(KEY_HOME)) d = -n;
    else if (key == BD_FN(KEY_END)) d = n;
    a->form_sel = bd_form_step(&a->cfg, a->form_sel, d); /* over the keys shown */
    return R;
}

static void open_browser(bd_app *a, bd_browse_mode mode, const char *start, int key_index) {
    bd_err e = {{0}};
    bd_browser_free(&a->br);
    if (bd_browser_open(&a->br, mode, start, &e)) { bd_app_message(a, 1, "%s", e.msg); return; }
    a->br_key = key_index;
    a->sm = BD_SM_BROWSE;
}

/* Edit the selected key's value (cur) as text. */
static void start_edit(bd_app *a, const char *cur) {
    bd_line_set(&a->edit, cur);
    a->edit_err[0] = '\0';
    a->sm = BD_SM_EDIT;
}

static int k_enter(bd_app *a, int key) {
    (void)key;
    bd_config_key_info k;
    key_info(a->form_sel, &k);
    char cur[BD_STR];
    bd_config_get(&a->cfg, k.name, cur, sizeof cur);
    switch (bd_form_widget(&k)) {
    case BD_W_TEXT:
        start_edit(a, cur);
        break;
    case BD_W_CYCLE: {
        char err[BD_ERR_MAX];
        if (bd_form_cycle(&a->cfg, k.name, 1, err, sizeof err)) bd_app_message(a, 1, "%s", err);
        changed(a);
        break;
    }
    case BD_W_MODEL:
        open_browser(a, BD_BROWSE_MODEL, cur[0] ? cur : access("models", F_OK) ? "." : "models", a->form_sel);
        break;
    case BD_W_CSV:
        open_browser(a, BD_BROWSE_CSV, cur[0] ? cur : access("datasets", F_OK) ? "." : "datasets", a->form_sel);
        break;
    case BD_W_DIR:
        open_browser(a, BD_BROWSE_DIR, cur[0] ? cur : ".", a->form_sel);
        break;
    case BD_W_COLUMN:
        if (!a->data.ncols) { bd_app_message(a, 1, "no CSV header to pick from: pick the data file first"); break; }
        a->col_sel = 0;
        for (int i = 0; i < a->data.ncols; i++)
            if (!strcmp(a->data.cols[i], cur)) a->col_sel = i + 1;
        a->sm = BD_SM_COLUMNS;
        break;
    case BD_W_SPLIT:
        memcpy(a->split_f, a->cfg.split, sizeof a->split_f);
        a->split_sel = 0;
        a->sm = BD_SM_SPLIT;
        break;
    case BD_W_MODULES: {
        bd_err e = {{0}};
        if (bd_parse_target_modules(a->cfg.target_modules, &a->mod_mask, &e)) a->mod_mask = 0;
        a->mod_sel = 0;
        a->sm = BD_SM_MODULES;
        break;
    }
    case BD_N_WIDGETS: break; /* not a widget */
    }
    return R;
}

/* e: the value as text, whatever its widget (a path typed or pasted instead of browsed). */
static int k_edit_text(bd_app *a, int key) {
    (void)key;
    bd_config_key_info k;
    key_info(a->form_sel, &k);
    char cur[BD_STR];
    bd_config_get(&a->cfg, k.name, cur, sizeof cur);
    start_edit(a, cur);
    return R;
}

static int key_index(const char *name) {
    for (int i = 0; i < bd_config_n_keys(); i++) {
        bd_config_key_info k;
        key_info(i, &k);
        if (!strcmp(k.name, name)) return i;
    }
    return 0;
}

/* max_steps and epochs are one choice, the run's length: Left/Right switch between them
 * (max_steps = 0 trains by epochs; by steps, about as many as the epochs were). */
static int switch_length(bd_app *a, const char *name) {
    char v[64];
    if (!strcmp(name, "max_steps")) {
        apply(a, "max_steps", "0");
        a->form_sel = key_index("epochs");
    } else {
        double fit = a->data.n_rows > 0 ? a->data.n_rows * (a->cfg.method == BD_METHOD_BIDORA ? a->cfg.split[0]
                                                           : a->cfg.split[0] + a->cfg.split[1]) : 0;
        long per_epoch = fit > 0 ? (long)ceil(fit / (a->cfg.batch_size > 0 ? a->cfg.batch_size : 1)) : 0;
        long steps = per_epoch > 0 ? (long)ceil(a->cfg.epochs * (double)per_epoch) : 1000;
        bd_fmt(v, sizeof v, "%ld", steps > 0 ? steps : 1);
        apply(a, "max_steps", v);
        a->form_sel = key_index("max_steps");
    }
    return R;
}

static int k_cycle(bd_app *a, int key) {
    bd_config_key_info k;
    key_info(a->form_sel, &k);
    if (!strcmp(k.name, "max_steps") || !strcmp(k.name, "epochs")) return switch_length(a, k.name);
    bd_widget wdg = bd_form_widget(&k);
    if (wdg == BD_W_SPLIT) return k_enter(a, key);
    if (wdg != BD_W_CYCLE) return BD_KEY_HANDLED;
    char err[BD_ERR_MAX];
    int back = key == BD_FN(KEY_LEFT) || key == 'h';
    if (bd_form_cycle(&a->cfg, k.name, back ? -1 : 1, err, sizeof err)) bd_app_message(a, 1, "%s", err);
    changed(a);
    return R;
}

static int k_load(bd_app *a, int key) {
    (void)key;
    open_browser(a, BD_BROWSE_INI, access(a->cfg_path, F_OK) ? "configs" : a->cfg_path, -1);
    return R;
}

static int k_save(bd_app *a, int key) {
    (void)key;
    bd_line_set(&a->edit, a->cfg_path);
    a->prompt_save = 1;
    return R;
}

static int k_preflight(bd_app *a, int key) {
    (void)key;
    bd_app_preflight(a, 1);
    return R;
}

static int k_reset(bd_app *a, int key) {
    (void)key;
    bd_config_key_info k;
    key_info(a->form_sel, &k);
    apply(a, k.name, k.dflt);
    return R;
}

const bd_binding bd_keys_setup[] = {
    {{BD_FN(KEY_UP), BD_FN(KEY_DOWN), 'k', 'j'}, "Up Down j k", NULL, "move through the keys", k_move},
    {{BD_FN(KEY_PPAGE), BD_FN(KEY_NPAGE), BD_FN(KEY_HOME), BD_FN(KEY_END)}, "PgUp PgDn Home End", NULL, "move by pages", k_move},
    {{BD_ENTER}, "Enter", NULL, "edit / browse / pick a column / split sliders / next value", k_enter},
    {{BD_FN(KEY_LEFT), BD_FN(KEY_RIGHT), 'h', 'l'}, "Left Right h l", NULL, "previous / next value of a choice", k_cycle},
    {{'o'}, "o", NULL, "open (load) a config .ini", k_load},
    {{'s'}, "s", NULL, "save the config as .ini (atomic: temp file + rename)", k_save},
    {{'r'}, "r", NULL, "reset the selected key to its default", k_reset},
    {{'p'}, "p", NULL, "pre-flight: check the run as bidora train would, tokenise, time a few steps", k_preflight},
    {{'e'}, "e", NULL, "edit the value as text (a path: type or paste it instead of browsing)", k_edit_text},
    {{0}, NULL, NULL, NULL, NULL},
};

/* ---- modal modes ---- */

static int edit_key(bd_app *a, int key, const char *name) {
    if (key == BD_ESC) { a->sm = BD_SM_FORM; a->prompt_save = 0; a->save_confirm[0] = '\0'; return R; }
    if (key == BD_BACKSPACE) bd_line_backspace(&a->edit);
    else if (key == 21) bd_line_set(&a->edit, ""); /* Ctrl-U */
    else if (key == BD_ENTER) {
        if (a->prompt_save) {
            /* never over a file silently: a second Enter on the same name overwrites it */
            if (!access(a->edit.buf, F_OK) && strcmp(a->save_confirm, a->edit.buf)) {
                bd_fmt(a->save_confirm, sizeof a->save_confirm, "%s", a->edit.buf);
                bd_app_message(a, 1, "%s exists: Enter again overwrites it, or type another name (Esc cancels)",
                               a->edit.buf);
                return R;
            }
            a->prompt_save = 0;
            a->save_confirm[0] = '\0';
            save_config(a, a->edit.buf);
            return R;
        }
        if (a->edit_err[0]) { bd_app_message(a, 1, "%s", a->edit_err); return R; }
        apply(a, name, a->edit.buf);
        a->sm = BD_SM_FORM;
        return R;
    } else if (key >= 32) bd_line_insert(&a->edit, (unsigned)key);
    else return BD_KEY_HANDLED;
    if (!a->prompt_save) bd_form_check(&a->cfg, name, a->edit.buf, a->edit_err, sizeof a->edit_err);
    return R;
}

static void list_move(int *sel, int n, int key) {
    if (key == BD_FN(KEY_UP) || key == 'k') (*sel)--;
    else if (key == BD_FN(KEY_DOWN) || key == 'j') (*sel)++;
    else if (key == BD_FN(KEY_PPAGE)) *sel -= 10;
    else if (key == BD_FN(KEY_NPAGE)) *sel += 10;
    else if (key == BD_FN(KEY_HOME)) *sel = 0;
    else if (key == BD_FN(KEY_END)) *sel = n - 1;
    if (*sel >= n) *sel = n - 1;
    if (*sel < 0) *sel = 0;
}

static int browse_key(bd_app *a, int key) {
    bd_browser *b = &a->br;
    bd_err e = {{0}};
    if (key == BD_ESC) { a->sm = BD_SM_FORM; return R; }
    if (!b->n) return BD_KEY_HANDLED;
    bd_entry *en = &b->e[b->sel];
    char path[BD_STR + 300];
    bd_path_join(path, sizeof path, b->dir, en->name);
    if (key == BD_FN(KEY_LEFT) || key == 'h' || key == BD_BACKSPACE) {
        if (b->n && !strcmp(b->e[0].name, "..") && bd_browser_enter(b, 0, &e)) bd_app_message(a, 1, "%s", e.msg);
        return R;
    }
    if (key == BD_FN(KEY_RIGHT) || key == 'l') {
        if (en->is_dir && bd_browser_enter(b, b->sel, &e)) bd_app_message(a, 1, "%s", e.msg);
        return R;
    }
    if (key != BD_ENTER) { list_move(&b->sel, b->n, key); return R; }
    bd_config_key_info k = {0};
    if (a->br_key >= 0) key_info(a->br_key, &k);
    if (b->mode == BD_BROWSE_DIR && !strcmp(en->name, ".")) {
        apply(a, k.name, b->dir);
        a->sm = BD_SM_FORM;
    } else if (b->mode == BD_BROWSE_MODEL && en->is_model) {
        apply(a, k.name, path);
        if (a->model.ok) a->sm = BD_SM_FORM;
        else bd_app_message(a, 1, "%s", a->model.err);
    } else if (en->is_dir) {
        if (bd_browser_enter(b, b->sel, &e)) bd_app_message(a, 1, "%s", e.msg);
    } else if (b->mode == BD_BROWSE_INI) {
        load_config(a, path);
        a->sm = BD_SM_FORM;
    } else {
        apply(a, k.name, path);
        a->sm = BD_SM_FORM;
        if (!strcmp(k.name, "data") && a->data.err[0])
            bd_app_message(a, 1, "%s (pick the columns: Enter on text_column / label_column)", a->data.err);
    }
    return R;
}

static int columns_key(bd_app *a, int key) {
    bd_config_key_info k;
    key_info(a->form_sel, &k);
    int n = a->data.ncols + 1; /* row 0: (none) */
    if (key == BD_ESC) { a->sm = BD_SM_FORM; return R; }
    if (key != BD_ENTER) { list_move(&a->col_sel, n, key); return R; }
    if (a->col_sel == 0 && strcmp(k.name, "text_pair_column")) {
        bd_app_message(a, 1, "%s needs a column", k.name);
        return R;
    }
    apply(a, k.name, a->col_sel ? a->data.cols[a->col_sel - 1] : "");
    a->sm = BD_SM_FORM;
    return R;
}

/* The target_modules checklist: Space ticks, Enter sets ("all" when every one is ticked). */
static int modules_key(bd_app *a, int key) {
    if (key == BD_ESC) { a->sm = BD_SM_FORM; return R; }
    if (key == ' ') { a->mod_mask ^= 1u << a->mod_sel; return R; }
    if (key != BD_ENTER) { list_move(&a->mod_sel, BD_N_MODS, key); return R; }
    char v[256] = "";
    size_t k = 0;
    int n = 0;
    for (int i = 0; i < BD_N_MODS; i++)
        if (a->mod_mask >> i & 1) {
            k += (size_t)snprintf(v + k, sizeof v - k, "%s%s", n++ ? "," : "", bd_mod_names[i]);
            if (k >= sizeof v) k = sizeof v - 1;
        }
    if (!n) { bd_app_message(a, 1, "target_modules: tick one module at least (Space)"); return R; }
    apply(a, "target_modules", n == BD_N_MODS ? "all" : v);
    a->sm = BD_SM_FORM;
    return R;
}

static int split_key(bd_app *a, int key) {
    if (key == BD_ESC) { a->sm = BD_SM_FORM; return R; }
    if (key == BD_ENTER) {
        char v[96];
        bd_fmt(v, sizeof v, "%.2f,%.2f,%.2f", a->split_f[0], a->split_f[1], a->split_f[2]);
        apply(a, "split", v);
        a->sm = BD_SM_FORM;
        return R;
    }
    double d = 0;
    if (key == BD_FN(KEY_LEFT) || key == 'h') d = -0.01;
    else if (key == BD_FN(KEY_RIGHT) || key == 'l') d = 0.01;
    else if (key == BD_FN(KEY_PPAGE)) d = 0.1;
    else if (key == BD_FN(KEY_NPAGE)) d = -0.1;
    else list_move(&a->split_sel, 3, key);
    if (d != 0) bd_split_adjust(a->split_f, a->split_sel, d);
    return R;
}

int bd_setup_modal(bd_app *a, int key) {
    if (is_fkey(key)) return BD_KEY_UNHANDLED; /* F-keys always reach the global table */
    bd_config_key_info k;
    key_info(a->form_sel, &k);
    if (a->prompt_save || a->sm == BD_SM_EDIT) return edit_key(a, key, k.name);
    if (a->sm == BD_SM_FORM) return BD_KEY_UNHANDLED;
    if (a->sm == BD_SM_MODULES) return modules_key(a, key); /* Space ticks there */
    if (key == ' ' || key == 'q' || key == '?') return BD_KEY_UNHANDLED;
    if (a->sm == BD_SM_BROWSE) return browse_key(a, key);
    if (a->sm == BD_SM_COLUMNS) return columns_key(a, key);
    return split_key(a, key);
}
