/* form.c: see form.h. */
#include "form.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "trainable.h"
#include "text.h"

bd_widget bd_form_widget(const bd_config_key_info *k) {
    const char *n = k->name;
    if (!strcmp(n, "model")) return BD_W_MODEL;
    if (!strcmp(n, "data") || !strcmp(n, "val_data") || !strcmp(n, "eval_data")) return BD_W_CSV;
    if (!strcmp(n, "out_dir") || !strcmp(n, "init_adapter")) return BD_W_DIR;
    if (!strcmp(n, "text_column") || !strcmp(n, "text_pair_column") || !strcmp(n, "label_column")) return BD_W_COLUMN;
    if (k->kind == BD_KEY_SPLIT) return BD_W_SPLIT;
    if (!strcmp(n, "target_modules")) return BD_W_MODULES;
    if (k->kind == BD_KEY_ENUM || k->kind == BD_KEY_BOOL) return BD_W_CYCLE;
    return BD_W_TEXT;
}

int bd_form_check(const bd_config *c, const char *key, const char *text, char *err, size_t n) {
    bd_err e = {{0}};
    bd_config *scratch = malloc(sizeof *scratch); /* 22 KB: off the stack */
    if (!scratch) { bd_fmt(err, n, "out of memory"); return -1; }
    *scratch = *c;
    int rc = 0;
    if (bd_config_set(scratch, key, text, &e)) {
        bd_fmt(err, n, "%s", e.msg);
        rc = -1;
    } else if (!strcmp(key, "backend") && scratch->backend == 2 && !bd_backend_cuda_probe(NULL, 0)) {
        char why[160];
        bd_backend_cuda_probe(why, sizeof why);
        bd_fmt(err, n, "backend = cuda: %s; use cpu or auto", why);
        rc = -1;
    } else if (err && n) {
        err[0] = '\0';
    }
    free(scratch);
    return rc;
}

int bd_form_apply(bd_config *c, const char *key, const char *text, char *err, size_t n) {
    if (bd_form_check(c, key, text, err, n)) return -1;
    bd_err e;
    return bd_config_set(c, key, text, &e);
}

int bd_form_cycle(bd_config *c, const char *key, int dir, char *err, size_t n) {
    bd_config_key_info k = {0};
    for (int i = 0; i < bd_config_n_keys(); i++) {
        bd_config_key(i, &k);
        if (!strcmp(k.name, key)) break;
        k.name = NULL;
    }
    if (!k.name || !k.allowed || (k.kind != BD_KEY_ENUM && k.kind != BD_KEY_BOOL)) return -1;
    char cur[256], vals[16][64];
    int nv = 0, at = 0;
    bd_config_get(c, key, cur, sizeof cur);
    for (const char *p = k.allowed; *p && nv < 16;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        bd_fmt(vals[nv], sizeof vals[nv], "%.*s", (int)len, p);
        if (!strcmp(vals[nv], cur)) at = nv;
        nv++;
        if (!bar) break;
        p = bar + 1;
    }
    if (!nv) return -1;
    /* skip values this build refuses (cuda), so cycling never lands on them */
    for (int tries = 0; tries < nv; tries++) {
        at = ((at + (dir >= 0 ? 1 : -1)) % nv + nv) % nv;
        if (!bd_form_apply(c, key, vals[at], err, n)) return 0;
    }
    return -1;
}

/* The checks behind bd_form_ready, on a scratch copy it may change. */
static int ready(bd_config *sc, char *err, size_t n) {
    bd_err e = {{0}};
    if (bd_config_finish(sc, &e)) { bd_fmt(err, n, "%s", e.msg); return -1; }
    char why[160];
    if (sc->backend == 2 && !bd_backend_cuda_probe(why, sizeof why)) {
        bd_fmt(err, n, "backend = cuda: %s", why);
        return -1;
    }
    char path[BD_STR + 32];
    bd_fmt(path, sizeof path, "%s/config.json", sc->model);
    bd_bert_config bc;
    if (bd_bert_config_load(&bc, path, &e)) {
        if (access(sc->model, F_OK))
            bd_fmt(err, n, "model: %s not found (make model fetches all-MiniLM-L6-v2; or pick a directory)", sc->model);
        else bd_fmt(err, n, "model: %s", e.msg);
        return -1;
    }
    bd_bert_config_free(&bc);
    const char *files[3] = {sc->data, sc->val_data, sc->eval_data};
    for (int i = 0; i < 3; i++) {
        if (!files[i][0] || !access(files[i], R_OK)) continue;
        bd_fmt(err, n, "%s: %s not found%s", i == 0 ? "data" : i == 1 ? "val_data" : "eval_data", files[i],
                 i == 0 ? " (make data fetches rotten_tomatoes.csv; or pick a CSV)" : "");
        return -1;
    }
    if (err && n) err[0] = '\0';
    return 0;
}

int bd_form_ready(const bd_config *c, char *err, size_t n) {
    bd_config *sc = malloc(sizeof *sc);
    if (!sc) { bd_fmt(err, n, "out of memory"); return -1; }
    *sc = *c;
    int rc = ready(sc, err, n);
    free(sc);
    return rc;
}

void bd_line_set(bd_line *l, const char *text) {
    bd_fmt(l->buf, sizeof l->buf, "%s", text);
    l->len = strlen(l->buf);
}

void bd_line_insert(bd_line *l, unsigned cp) {
    char u[4];
    size_t k;
    if (cp < 0x20 || cp == 0x7f || cp > 0x10ffff) return;
    if (cp < 0x80) { u[0] = (char)cp; k = 1; }
    else if (cp < 0x800) { u[0] = (char)(0xc0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3f)); k = 2; }
    else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12); u[1] = (char)(0x80 | (cp >> 6 & 0x3f)); u[2] = (char)(0x80 | (cp & 0x3f)); k = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18); u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); k = 4;
    }
    if (l->len + k >= sizeof l->buf) return;
    memcpy(l->buf + l->len, u, k);
    l->len += k;
    l->buf[l->len] = '\0';
}

void bd_line_backspace(bd_line *l) {
    while (l->len && ((unsigned char)l->buf[l->len - 1] & 0xc0) == 0x80) l->len--; /* continuation bytes */
    if (l->len) l->len--;
    l->buf[l->len] = '\0';
}

void bd_split_adjust(double f[3], int which, double delta) {
    /* integer hundredths: no drift, sums stay exactly 100 */
    int h[3], tot = 0;
    for (int i = 0; i < 3; i++) { h[i] = (int)lround(f[i] * 100); tot += h[i]; }
    h[0] += 100 - tot;
    int d = (int)lround(delta * 100);
    if (h[which] + d < 0) d = -h[which];
    if (h[which] + d > 100) d = 100 - h[which];
    int want = d;
    /* take from (or give to) the next fractions in order */
    for (int k = 1; k <= 2 && d; k++) {
        int j = (which + k) % 3, give = d > 0 ? (d < h[j] ? d : h[j]) : (-d < 100 - h[j] ? d : -(100 - h[j]));
        h[j] -= give;
        d -= give;
    }
    h[which] += want - d;
    for (int i = 0; i < 3; i++) f[i] = h[i] / 100.0;
}

/* ---- groups ---- */

static const char *const group_names[BD_N_GROUPS] = {"model", "data", "method", "optimisation", "BiDoRA",
                                                      "evaluation", "output"};
static const struct { const char *key; int group; } key_groups[] = {
    {"model", BD_G_MODEL}, {"backend", BD_G_MODEL}, {"tf32", BD_G_MODEL},
    {"data", BD_G_DATA}, {"val_data", BD_G_DATA}, {"eval_data", BD_G_DATA}, {"text_column", BD_G_DATA},
    {"text_pair_column", BD_G_DATA}, {"label_column", BD_G_DATA}, {"task", BD_G_DATA}, {"split", BD_G_DATA},
    {"seed", BD_G_DATA}, {"max_length", BD_G_DATA},
    {"method", BD_G_METHOD}, {"rank", BD_G_METHOD}, {"alpha", BD_G_METHOD}, {"rslora", BD_G_METHOD},
    {"dropout", BD_G_METHOD}, {"target_modules", BD_G_METHOD}, {"dora_norm_grad", BD_G_METHOD},
    {"init_adapter", BD_G_METHOD},
    {"optimizer", BD_G_OPTIM}, {"adam_beta1", BD_G_OPTIM}, {"adam_beta2", BD_G_OPTIM}, {"adam_eps", BD_G_OPTIM},
    {"lr", BD_G_OPTIM}, {"weight_decay", BD_G_OPTIM}, {"max_grad_norm", BD_G_OPTIM}, {"batch_size", BD_G_OPTIM},
    {"max_steps", BD_G_OPTIM}, {"epochs", BD_G_OPTIM}, {"warmup", BD_G_OPTIM}, {"schedule", BD_G_OPTIM},
    {"upper_lr", BD_G_BIDORA}, {"upper_weight_decay", BD_G_BIDORA}, {"orth_lambda", BD_G_BIDORA},
    {"hypergrad", BD_G_BIDORA}, {"darts_alpha", BD_G_BIDORA}, {"hyper_xi", BD_G_BIDORA},
    {"upper_every", BD_G_BIDORA}, {"val_batch_size", BD_G_BIDORA}, {"hyper_batch_size", BD_G_BIDORA},
    {"retrain_steps", BD_G_BIDORA}, {"retrain_lr", BD_G_BIDORA},
    {"eval_every", BD_G_EVAL},
    {"out_dir", BD_G_OUTPUT}, {"run_name", BD_G_OUTPUT}, {"checkpoint_every", BD_G_OUTPUT},
    {"on_hangup", BD_G_OUTPUT},
};

const char *bd_form_group_name(int g) { return g >= 0 && g < BD_N_GROUPS ? group_names[g] : "?"; }

int bd_form_group_of(const char *key) {
    for (size_t i = 0; i < sizeof key_groups / sizeof key_groups[0]; i++)
        if (!strcmp(key_groups[i].key, key)) return key_groups[i].group;
    return -1;
}

int bd_form_shown(const bd_config *c, const char *key) {
    const int g = bd_form_group_of(key) < 0 ? BD_G_OUTPUT : bd_form_group_of(key), m = c->method;
    if (g == BD_G_BIDORA) return m == BD_METHOD_BIDORA;
    if (!strcmp(key, "max_steps")) return c->max_steps > 0;
    if (!strcmp(key, "epochs")) return c->max_steps <= 0;
    if (m == BD_METHOD_FULL && g == BD_G_METHOD) return !strcmp(key, "method");
    if (!strcmp(key, "dora_norm_grad")) return m == BD_METHOD_DORA || m == BD_METHOD_BIDORA;
    return 1;
}

int bd_form_rows(const bd_config *c, int *rows, int cap) {
    const int nk = bd_config_n_keys();
    int n = 0;
    for (int g = 0; g < BD_N_GROUPS; g++) {
        int header = -1;
        for (int i = 0; i < nk && n < cap; i++) {
            bd_config_key_info k;
            bd_config_key(i, &k);
            const int kg = bd_form_group_of(k.name);
            if ((kg < 0 ? BD_G_OUTPUT : kg) != g || !bd_form_shown(c, k.name)) continue;
            if (header < 0) { header = n; rows[n++] = -(g + 1); }
            if (n < cap) rows[n++] = i;
        }
    }
    return n;
}

int bd_form_step(const bd_config *c, int sel, int d) {
    int rows[256], n = bd_form_rows(c, rows, 256), keys[256], nk = 0, at = -1;
    for (int i = 0; i < n; i++) {
        if (rows[i] < 0) continue;
        if (rows[i] == sel) at = nk;
        keys[nk++] = rows[i];
    }
    if (!nk) return sel;
    if (at < 0) { /* sel is hidden now: the shown key nearest it in table order */
        int best = 0;
        for (int i = 0; i < nk; i++)
            if (abs(keys[i] - sel) < abs(keys[best] - sel)) best = i;
        at = best;
    }
    at += d;
    if (at < 0) at = 0;
    if (at >= nk) at = nk - 1;
    return keys[at];
}
