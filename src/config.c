/* config.c: the key table and its parser (INI through inih). */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const char *const bd_method_names[4] = {"bidora", "dora", "lora", "full"};

typedef enum { K_STR, K_INT, K_LONG, K_REAL, K_ENUM, K_BOOL, K_SPLIT } kind;

typedef struct key {
    const char *name;
    kind k;
    size_t off, size;
    const char *dflt;
    const char *allowed; /* enums: "a|b|c"; numbers: "lo..hi" */
    const char *help;
} key;

#define F(field) offsetof(bd_config, field), sizeof(((bd_config *)0)->field)

static const key keys[] = {
    {"model", K_STR, F(model), "models/all-MiniLM-L6-v2", NULL, "Hugging Face model directory"},
    {"data", K_STR, F(data), "datasets/data/rotten_tomatoes.csv", NULL, "CSV with a header row"},
    {"val_data", K_STR, F(val_data), "", NULL, "CSV for the validation split (else split of data)"},
    {"eval_data", K_STR, F(eval_data), "", NULL, "CSV for the held-out evaluation (else split of data)"},
    {"text_column", K_STR, F(text_column), "text", NULL, "column of the text"},
    {"text_pair_column", K_STR, F(text_pair_column), "", NULL, "column of the second text (pairs)"},
    {"label_column", K_STR, F(label_column), "label", NULL, "column of the label or target"},
    {"task", K_ENUM, F(task), "classification", "classification|regression", "loss: cross-entropy or MSE"},
    {"split", K_SPLIT, F(split), "0.64,0.16,0.20", NULL, "train,val,eval fractions of data"},
    {"seed", K_LONG, F(seed), "42", "0..2147483647", "seed of split, init, shuffling, dropout"},
    {"method", K_ENUM, F(method), "bidora", "bidora|dora|lora|full", "fine-tuning method"},
    {"rank", K_INT, F(rank), "4", "1..4096", "adapter rank r"},
    {"alpha", K_REAL, F(alpha), "8", "0..1e6", "adapter alpha (scaling alpha/r)"},
    {"rslora", K_BOOL, F(rslora), "false", "true|false", "scaling alpha/sqrt(r)"},
    {"dropout", K_REAL, F(dropout), "0", "0..0.95", "adapter dropout (PEFT's lora_dropout)"},
    {"target_modules", K_STR, F(target_modules), "query,value", NULL,
     "query,key,value,attention.output.dense,intermediate.dense,output.dense or all"},
    {"optimizer", K_ENUM, F(optimizer), "adamw", "adamw|sgd", "optimizer"},
    {"adam_beta1", K_REAL, F(adam_beta1), "0.9", "0..0.999999", "AdamW beta1"},
    {"adam_beta2", K_REAL, F(adam_beta2), "0.98", "0..0.999999", "AdamW beta2"},
    {"adam_eps", K_REAL, F(adam_eps), "1e-6", "0..1", "AdamW epsilon"},
    {"lr", K_REAL, F(lr), "5e-4", "0..10", "learning rate (direction / all trained weights)"},
    {"upper_lr", K_REAL, F(upper_lr), "-1", "-1..10", "BiDoRA magnitude learning rate (-1: = lr)"},
    {"weight_decay", K_REAL, F(weight_decay), "0.01", "0..10", "decoupled weight decay"},
    {"upper_weight_decay", K_REAL, F(upper_weight_decay), "0", "0..10", "BiDoRA magnitude weight decay"},
    {"max_grad_norm", K_REAL, F(max_grad_norm), "1", "0..1e6", "clip by global norm (0 = off)"},
    {"batch_size", K_INT, F(batch_size), "32", "1..65536", "rows per step"},
    {"max_length", K_INT, F(max_length), "128", "3..1048576", "tokens per row (at most the model's)"},
    {"max_steps", K_LONG, F(max_steps), "0", "0..1000000000", "steps (0: from epochs)"},
    {"epochs", K_REAL, F(epochs), "3", "0..100000", "epochs over the training rows when max_steps = 0"},
    {"warmup", K_REAL, F(warmup), "0.1", "0..1", "warm-up, as a fraction of the steps"},
    {"schedule", K_ENUM, F(schedule), "linear", "linear|constant", "learning-rate schedule after warm-up"},
    {"orth_lambda", K_REAL, F(orth_lambda), "1e-5", "0..1e6", "BiDoRA orthogonality regularizer weight"},
    {"dora_norm_grad", K_ENUM, F(dora_norm_grad), "exact", "exact|detached", "gradient through DoRA's row norm"},
    {"hypergrad", K_ENUM, F(hypergrad), "darts2", "darts2|darts1", "BiDoRA hypergradient"},
    {"darts_alpha", K_REAL, F(darts_alpha), "0.01", "1e-12..10", "finite-difference step: eps = darts_alpha/||v||"},
    {"hyper_xi", K_REAL, F(hyper_xi), "1", "0..1e6", "weight of the second-order term"},
    {"upper_every", K_INT, F(upper_every), "1", "1..1000000", "upper step every k lower steps"},
    {"val_batch_size", K_INT, F(val_batch_size), "0", "0..65536", "BiDoRA rows per val batch (0: = batch_size)"},
    {"hyper_batch_size", K_INT, F(hyper_batch_size), "0", "0..65536",
     "BiDoRA rows of the lower batch in the +-eps passes (0: = batch_size)"},
    {"retrain_steps", K_LONG, F(retrain_steps), "0", "0..1000000000", "BiDoRA phase 2 steps (0 = none)"},
    {"retrain_lr", K_REAL, F(retrain_lr), "-1", "-1..10", "phase 2 learning rate (-1: = lr)"},
    {"eval_every", K_LONG, F(eval_every), "50", "0..1000000000", "evaluate every N steps (0 = at the end)"},
    {"checkpoint_every", K_LONG, F(checkpoint_every), "100", "0..1000000000", "checkpoint every N steps (0 = only on exit)"},
    {"init_adapter", K_STR, F(init_adapter), "", NULL, "start from a PEFT adapter directory"},
    {"backend", K_ENUM, F(backend), "auto", "auto|cpu|cuda", "where to train"},
    {"out_dir", K_STR, F(out_dir), "runs", NULL, "where run directories go"},
    {"run_name", K_STR, F(run_name), "", NULL, "run directory name (default: method-date-time)"},
};
#define N_KEYS (int)(sizeof keys / sizeof keys[0])

static const key *find_key(const char *name) {
    for (int i = 0; i < N_KEYS; i++)
        if (!strcmp(keys[i].name, name)) return &keys[i];
    return NULL;
}

static int enum_index(const char *allowed, const char *v) {
    int idx = 0;
    const char *p = allowed;
    size_t vl = strlen(v);
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == vl && !strncmp(p, v, n)) return idx;
        idx++;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
}

static void trim(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) s[--n] = '\0';
    size_t i = 0;
    while (s[i] == ' ' || s[i] == '\t') i++;
    if (i) memmove(s, s + i, n - i + 1);
}

static int parse_real(const char *v, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x)) return -1;
    *out = x;
    return 0;
}

int bd_config_set(bd_config *c, const char *name, const char *value, bd_err *e) {
    const key *k = find_key(name);
    if (!k) {
        char list[2048] = "";
        for (int i = 0; i < N_KEYS; i++) {
            strncat(list, keys[i].name, sizeof list - strlen(list) - 1);
            if (i + 1 < N_KEYS) strncat(list, ", ", sizeof list - strlen(list) - 1);
        }
        return bd_errf(e, "unknown key \"%s\" (keys: %s)", name, list);
    }
    char v[BD_STR];
    snprintf(v, sizeof v, "%s", value);
    trim(v);
    char *dst = (char *)c + k->off;
    double lo = -INFINITY, hi = INFINITY;
    if (k->allowed && (k->k == K_INT || k->k == K_LONG || k->k == K_REAL)) {
        const char *dots = strstr(k->allowed, "..");
        lo = strtod(k->allowed, NULL);
        if (dots) hi = strtod(dots + 2, NULL);
    }
    switch (k->k) {
    case K_STR:
        if (strlen(v) >= k->size) return bd_errf(e, "%s: value is too long (at most %zu bytes)", name, k->size - 1);
        memcpy(dst, v, strlen(v) + 1);
        return 0;
    case K_INT:
    case K_LONG: {
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < lo || x > hi)
            return bd_errf(e, "%s = \"%s\": expected an integer from %.0f to %.0f", name, v, lo, hi);
        if (k->k == K_INT) *(int *)dst = (int)x;
        else *(long *)dst = x;
        return 0;
    }
    case K_REAL: {
        double x;
        if (parse_real(v, &x) || x < lo || x > hi)
            return bd_errf(e, "%s = \"%s\": expected a number from %g to %g", name, v, lo, hi);
        *(double *)dst = x;
        return 0;
    }
    case K_ENUM: {
        int idx = enum_index(k->allowed, v);
        if (idx < 0) return bd_errf(e, "%s = \"%s\": allowed values are %s", name, v, k->allowed);
        *(int *)dst = idx;
        return 0;
    }
    case K_BOOL: {
        if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) *(int *)dst = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no")) *(int *)dst = 0;
        else return bd_errf(e, "%s = \"%s\": allowed values are true|false", name, v);
        return 0;
    }
    case K_SPLIT: {
        double f[3];
        char tmp[BD_STR];
        memcpy(tmp, v, sizeof tmp);
        char *save = NULL, *tok = strtok_r(tmp, ",", &save);
        int n = 0;
        while (tok && n < 4) {
            trim(tok);
            if (n < 3 && (parse_real(tok, &f[n]) || f[n] < 0 || f[n] > 1)) n = 4;
            else n++;
            tok = strtok_r(NULL, ",", &save);
        }
        if (n != 3 || fabs(f[0] + f[1] + f[2] - 1.0) > 1e-6)
            return bd_errf(e, "split = \"%s\": expected three fractions train,val,eval in [0,1] summing to 1", v);
        memcpy(dst, f, sizeof f);
        return 0;
    }
    }
    return bd_errf(e, "%s: internal error", name);
}

void bd_config_defaults(bd_config *c) {
    memset(c, 0, sizeof *c);
    for (int i = 0; i < N_KEYS; i++) {
        bd_err e;
        if (bd_config_set(c, keys[i].name, keys[i].dflt, &e)) abort(); /* a bad default is a bug */
    }
}

typedef struct ini_ctx { bd_config *c; bd_err *e; const char *path; int failed; } ini_ctx;

/* Debian's inih passes no line number: a handler returning 0 makes
 * ini_parse_file return the first failing line, which names it below. */
static int on_ini_key(void *user, const char *section, const char *name, const char *value) {
    (void)section;
    ini_ctx *x = user;
    if (x->failed) return 1;
    if (bd_config_set(x->c, name, value, x->e)) {
        x->failed = 1;
        return 0;
    }
    return 1;
}

int bd_config_load(bd_config *c, const char *path, bd_err *e) {
    FILE *f = fopen(path, "r");
    if (!f) return bd_errf(e, "%s: cannot open: %s", path, strerror(errno));
    ini_ctx x = {c, e, path, 0};
    int rc = ini_parse_file(f, on_ini_key, &x);
    fclose(f);
    if (x.failed) return bd_err_prefix(e, "%s:%d", path, rc);
    if (rc > 0) return bd_errf(e, "%s:%d: not a key = value line", path, rc);
    if (rc < 0) return bd_errf(e, "%s: cannot read", path);
    return 0;
}

int bd_config_finish(bd_config *c, bd_err *e) {
    if (!c->model[0]) return bd_errf(e, "model: a model directory is required");
    if (!c->data[0]) return bd_errf(e, "data: a CSV file is required");
    if (c->val_data[0] && c->split[1] > 0) {
        /* D_val comes from the file: no row of data is held out for it */
        c->split[0] += c->split[1];
        c->split[1] = 0;
    }
    if (c->eval_data[0] && c->split[2] > 0) {
        c->split[0] += c->split[2];
        c->split[2] = 0;
    }
    if (c->split[0] <= 0) return bd_errf(e, "split: the train fraction must be positive");
    if (c->method == 0 && c->split[1] <= 0 && !c->val_data[0])
        return bd_errf(e, "split: method bidora needs a validation fraction (or val_data)");
    if (c->upper_lr < 0) c->upper_lr = c->lr;
    if (c->retrain_lr < 0) c->retrain_lr = c->lr;
    if (c->val_batch_size == 0) c->val_batch_size = c->batch_size;
    if (c->hyper_batch_size == 0) c->hyper_batch_size = c->batch_size;
    if (c->val_batch_size > c->batch_size)
        return bd_errf(e, "val_batch_size = %d: at most batch_size (%d)", c->val_batch_size, c->batch_size);
    if (c->hyper_batch_size > c->batch_size)
        return bd_errf(e, "hyper_batch_size = %d: at most batch_size (%d), it takes rows of the lower batch",
                       c->hyper_batch_size, c->batch_size);
    if (c->max_steps == 0 && c->epochs <= 0) return bd_errf(e, "max_steps or epochs must be positive");
    return 0;
}

static void value_text(const bd_config *c, const key *k, char *buf, size_t n) {
    const char *src = (const char *)c + k->off;
    switch (k->k) {
    case K_STR: snprintf(buf, n, "%s", src); break;
    case K_INT: snprintf(buf, n, "%d", *(const int *)src); break;
    case K_LONG: snprintf(buf, n, "%ld", *(const long *)src); break;
    case K_REAL: snprintf(buf, n, "%.9g", *(const double *)src); break;
    case K_BOOL: snprintf(buf, n, "%s", *(const int *)src ? "true" : "false"); break;
    case K_ENUM: {
        int idx = *(const int *)src, i = 0;
        const char *p = k->allowed;
        while (i < idx && (p = strchr(p, '|'))) { p++; i++; }
        const char *bar = p ? strchr(p, '|') : NULL;
        snprintf(buf, n, "%.*s", p ? (int)(bar ? (size_t)(bar - p) : strlen(p)) : 0, p ? p : "");
        break;
    }
    case K_SPLIT: {
        const double *f = (const double *)src;
        snprintf(buf, n, "%.6g,%.6g,%.6g", f[0], f[1], f[2]);
        break;
    }
    }
}

int bd_config_get(const bd_config *c, const char *name, char *buf, size_t n) {
    const key *k = find_key(name);
    if (!k) return -1;
    value_text(c, k, buf, n);
    return 0;
}

void bd_config_write(const bd_config *c, FILE *f) {
    char buf[BD_STR];
    for (int i = 0; i < N_KEYS; i++) {
        value_text(c, &keys[i], buf, sizeof buf);
        fprintf(f, "%s = %s\n", keys[i].name, buf);
    }
}

void bd_config_help(FILE *f) {
    for (int i = 0; i < N_KEYS; i++) {
        const key *k = &keys[i];
        fprintf(f, "  %-18s %-30s %s%s%s%s\n", k->name, k->dflt[0] ? k->dflt : "(none)", k->help,
                k->allowed ? " [" : "", k->allowed ? k->allowed : "", k->allowed ? "]" : "");
    }
}

int bd_config_n_keys(void) { return N_KEYS; }

void bd_config_key(int i, bd_config_key_info *out) {
    const key *k = &keys[i];
    out->name = k->name;
    out->dflt = k->dflt;
    out->allowed = k->allowed;
    out->help = k->help;
    out->kind = (bd_key_kind)k->k;
}
