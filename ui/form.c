/* form.c: see form.h. */
#include "form.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "text.h"

bd_widget bd_form_widget(const bd_config_key_info *k) {
    const char *n = k->name;
    if (!strcmp(n, "model")) return BD_W_MODEL;
    if (!strcmp(n, "data") || !strcmp(n, "val_data") || !strcmp(n, "eval_data")) return BD_W_CSV;
    if (!strcmp(n, "out_dir") || !strcmp(n, "init_adapter")) return BD_W_DIR;
    if (!strcmp(n, "text_column") || !strcmp(n, "text_pair_column") || !strcmp(n, "label_column")) return BD_W_COLUMN;
    if (k->kind == BD_KEY_SPLIT) return BD_W_SPLIT;
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
