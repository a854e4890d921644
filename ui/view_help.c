/* view_help.c: the help screen (generated from the key tables, so it
 * lists every binding), the "terminal too small" screen, the bottom key
 * bar and the message line (which prompts take over). */
#include "app.h"

#include <stdio.h>
#include <string.h>

#include "draw.h"
#include "text.h"

static const struct {
    const char *title;
    const bd_binding *keys;
} sections[] = {
    {"Everywhere", bd_keys_global},
    {"Run view (F4): charts of the live or opened run", bd_keys_run},
    {"Set-up view (F2): the config form", bd_keys_setup},
    {"Runs browser (F3)", bd_keys_runs},
    {"Runs comparison (c in the runs browser, with 2 or more tagged runs)", bd_keys_compare},
};

static const char *const about[] = {
    "Set-up: every key of the run config; Enter edits (validated as you type), browses for the model",
    "directory or the CSV, picks a column, or opens the split sliders. o loads, s saves a config.",
    "Run: loss (train, val = BiDoRA's upper level, eval; the diamond marks the best eval), eval metrics,",
    "hypergradient norm, dM/dD per layer, the dD-dM scatter with its slope k, the magnitude vector, the log.",
    "In pickers: Enter picks, Right opens a directory, Left goes up, Esc cancels.",
};

/* One help line per binding, or per section title / blank; index i. */
static int help_line(int i, char *buf, size_t n, int *bold) {
    int k = 0;
    *bold = 0;
    for (size_t a = 0; a < sizeof about / sizeof about[0]; a++, k++)
        if (k == i) { bd_fmt(buf, n, "%s", about[a]); return 1; }
    for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
        if (k++ == i) { buf[0] = '\0'; return 1; }
        if (k++ == i) { bd_fmt(buf, n, "%s", sections[s].title); *bold = 1; return 1; }
        for (const bd_binding *b = sections[s].keys; b->fn; b++)
            if (k++ == i) { bd_fmt(buf, n, "  %-20s %s", b->keyname, b->help); return 1; }
    }
    return 0;
}

void bd_help_view_draw(bd_app *a) {
    WINDOW *w = a->panel[0];
    if (!w) return;
    werase(w);
    bd_box(w, &a->term, "help: keys (Esc or F1 returns; Up Down scroll)", 1);
    int H = getmaxy(w) - 2, W = getmaxx(w) - 2, total = 0;
    char line[512];
    int bold;
    while (help_line(total, line, sizeof line, &bold)) total++;
    if (a->help_scroll > total - H) a->help_scroll = total - H > 0 ? total - H : 0;
    for (int r = 0; r < H; r++) {
        if (!help_line(a->help_scroll + r, line, sizeof line, &bold)) break;
        bd_put(w, 1 + r, 2, W - 2, bd_attr(&a->term, bold ? BD_C_FOCUS : BD_C_NORMAL) | (bold ? A_BOLD : 0), line);
    }
    wnoutrefresh(w);
}

void bd_too_small_draw(bd_app *a) {
    werase(stdscr);
    int rows = a->lay.rows, cols = a->lay.cols;
    char l1[96], l2[96];
    bd_fmt(l1, sizeof l1, "terminal too small: %dx%d", cols, rows);
    bd_fmt(l2, sizeof l2, "bidora needs at least %dx%d", BD_MIN_COLS, BD_MIN_ROWS);
    const char *lines[3] = {l1, l2, "(enlarge it, or q to quit)"};
    for (int i = 0; i < 3; i++) {
        int len = (int)strlen(lines[i]), y = rows / 2 - 1 + i, x = cols > len ? (cols - len) / 2 : 0;
        if (y >= 0 && y < rows) bd_put(stdscr, y, x, cols - x, bd_attr(&a->term, i ? BD_C_NORMAL : BD_C_WARN), lines[i]);
    }
    wnoutrefresh(stdscr);
}

/* htop's bar: the key, then its label on a coloured field. */
void bd_keybar_draw(bd_app *a) {
    WINDOW *w = a->win_keys;
    if (!w) return;
    werase(w);
    int W = getmaxx(w), x = 0;
    for (const bd_binding *b = bd_keys_global; b->fn && x < W; b++) {
        if (!b->bar) continue;
        char key[16];
        bd_fmt(key, sizeof key, "%s", b->keyname);
        char *sp = strchr(key, ' ');
        if (sp) *sp = '\0';
        x += bd_put(w, 0, x, W - x, bd_attr(&a->term, BD_C_KEY), key);
        char label[16];
        bd_fmt(label, sizeof label, "%-6s", b->bar);
        x += bd_put(w, 0, x, W - x, bd_attr(&a->term, BD_C_KEYLABEL), label);
    }
    /* the runs browser's own keys after them, where the width allows */
    const bd_binding *own = a->view != BD_VIEW_RUNS ? NULL : a->runs_compare ? bd_keys_compare : bd_keys_runs;
    for (const bd_binding *b = own; b && b->fn && x < W; b++) {
        if (!b->bar) continue;
        char key[16];
        bd_fmt(key, sizeof key, "%s", b->keyname);
        char *sp = strchr(key, ' ');
        if (sp) *sp = '\0';
        char label[16];
        bd_fmt(label, sizeof label, "%-6s", b->bar);
        if (x + (int)strlen(key) + (int)strlen(label) > W) break; /* whole entries only */
        x += bd_put(w, 0, x, W - x, bd_attr(&a->term, BD_C_KEY), key);
        x += bd_put(w, 0, x, W - x, bd_attr(&a->term, BD_C_KEYLABEL), label);
    }
    wnoutrefresh(w);
}

void bd_message_draw(bd_app *a) {
    WINDOW *w = a->win_msg;
    if (!w) return;
    werase(w);
    int W = getmaxx(w);
    if (a->confirm_quit) {
        bd_put(w, 0, 0, W, bd_attr(&a->term, BD_C_WARN),
               "A run is active. d: detach (it trains on; bidora attach) s: stop it (checkpoint) and quit  Esc: cancel");
    } else if (bd_runs_prompt_draw(a, w)) {
        /* the runs browser's filter, rename or delete prompt */
    } else if (a->prompt_save) {
        int confirm = a->save_confirm[0] && !strcmp(a->save_confirm, a->edit.buf);
        int used = bd_put(w, 0, 0, W, bd_attr(&a->term, confirm ? BD_C_ERROR : BD_C_WARN),
                          confirm ? "It exists: Enter again overwrites it, or edit the name (Esc cancels): "
                                  : "Save config as (Enter saves, Esc cancels): ");
        used += bd_put(w, 0, used, W - used, bd_attr(&a->term, BD_C_NORMAL) | A_UNDERLINE, a->edit.buf);
        bd_put(w, 0, used, 1, A_REVERSE, " ");
    } else if (a->msg[0]) {
        bd_put(w, 0, 0, W, bd_attr(&a->term, a->msg_error ? BD_C_ERROR : BD_C_NORMAL), a->msg);
    }
    wnoutrefresh(w);
}
