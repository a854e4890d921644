/* form.h: the set-up form's model, no curses: one row per key of the
 * config key table, a line editor that validates as you type (every
 * keystroke goes through bd_config_set on a scratch copy), cycling of
 * enum and bool keys, the split sliders, and the whole-config check that
 * says whether F5 can start a run. */
#ifndef BD_FORM_H
#define BD_FORM_H

#include <stddef.h>
#include "config.h"

/* What Enter does on a key. */
typedef enum bd_widget {
    BD_W_TEXT,               /* edit the value as text */
    BD_W_CYCLE,              /* enum or bool: next allowed value */
    BD_W_MODEL,              /* browse for a model directory (config.json) */
    BD_W_CSV,                /* browse for a CSV file */
    BD_W_DIR,                /* browse for a directory (out_dir, init_adapter) */
    BD_W_COLUMN,             /* pick a column of the CSV header */
    BD_W_SPLIT,              /* the train / val / eval sliders */
    BD_W_MODULES,            /* a checklist of the model's modules (target_modules) */
    BD_N_WIDGETS
} bd_widget;

bd_widget bd_form_widget(const bd_config_key_info *k);

/* Check key = text on a copy of c: 0 when valid, else -1 and err says
 * why (bd_config_set's message, or this build's limits, e.g. cuda). */
int bd_form_check(const bd_config *c, const char *key, const char *text, char *err, size_t n);
/* Set key = text in c when valid (the same check). */
int bd_form_apply(bd_config *c, const char *key, const char *text, char *err, size_t n);
/* Move an enum / bool key to its next (dir > 0) or previous allowed value. */
int bd_form_cycle(bd_config *c, const char *key, int dir, char *err, size_t n);
/* Can a run start from c? bd_config_finish on a copy, plus the model's
 * config.json and the data file. 0 when ready, else err says why. */
int bd_form_ready(const bd_config *c, char *err, size_t n);

/* The form's groups, in the order shown; keys of other methods hidden. */
enum { BD_G_MODEL, BD_G_DATA, BD_G_METHOD, BD_G_OPTIM, BD_G_BIDORA, BD_G_EVAL, BD_G_OUTPUT, BD_N_GROUPS };
const char *bd_form_group_name(int g);
/* The group of a config key; -1 for one the table lacks (shown under output). */
int bd_form_group_of(const char *key);
/* Whether the form shows key for c: a method's keys only with that method
 * (BiDoRA's group with bidora; the adapter's keys not for full fine-tuning;
 * dora_norm_grad with DoRA and BiDoRA), and one of max_steps / epochs, the
 * one that sets the run's length (max_steps > 0, else epochs). */
int bd_form_shown(const bd_config *c, const char *key);
/* The form's rows for c: a group header as -(group + 1), a key as its index in
 * the config key table; groups with no key shown are left out. Returns the rows. */
int bd_form_rows(const bd_config *c, int *rows, int cap);
/* The shown key d shown keys away from sel, clamped at the ends (d = 0: sel
 * when shown, else the nearest shown one after it, or before). */
int bd_form_step(const bd_config *c, int sel, int d);

/* A one-line editor (append, backspace, clear), UTF-8. */
typedef struct bd_line {
    char buf[BD_STR];
    size_t len;
} bd_line;
void bd_line_set(bd_line *l, const char *text);
void bd_line_insert(bd_line *l, unsigned cp);
void bd_line_backspace(bd_line *l);

/* The split sliders: move fraction which (0 train, 1 val, 2 eval) by
 * delta, taking the difference from the next fraction that can give it,
 * so the three stay in [0, 1], rounded to 0.01, and sum to 1. */
void bd_split_adjust(double f[3], int which, double delta);

#endif
