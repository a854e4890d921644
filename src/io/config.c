/* config.c: the key table, its parser and our own INI reader (lines of any
 * length; every error names FILE:LINE; a key given twice is refused). */
#include "config.h"
#include "fmt.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

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
    {"max_length", K_INT, F(max_length), "0", "0..1048576",
     "tokens per row; 0: min(128, the model's positions)"},
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
    {"backend", K_ENUM, F(backend), "auto", "auto|cpu|cuda", "where to train (auto: the GPU if there is one)"},
    {"tf32", K_ENUM, F(tf32), "off", "off|on", "CUDA: TF32 tensor cores for matrix products (off: fp32)"},
    {"on_hangup", K_ENUM, F(on_hangup), "detach", "detach|stop", "the terminal goes away (SIGHUP): keep training headless, or checkpoint and stop"},
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

/* Numbers are read and written in the C locale whatever LC_NUMERIC the
 * workbench set (setlocale(LC_ALL, "")): "0.5" must not turn into "0,5". */
static pthread_once_t c_once = PTHREAD_ONCE_INIT;
static locale_t c_loc;
static void make_c_locale(void) { c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0); }
static locale_t c_locale(void) {
    pthread_once(&c_once, make_c_locale);
    return c_loc;
}
static double c_strtod(const char *s, char **end) {
    locale_t l = c_locale();
    return l ? strtod_l(s, end, l) : strtod(s, end);
}

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

static void trim(char *s) {
    size_t n = strlen(s);
    while (n && is_space(s[n - 1])) s[--n] = '\0';
    size_t i = 0;
    while (is_space(s[i])) i++;
    if (i) memmove(s, s + i, n - i + 1);
}

/* A value as shown in messages: control bytes as '?', long ones cut with
 * "...", so that every message stays one short line. */
static const char *shown(char *buf, size_t n, const char *s) {
    size_t j = 0;
    for (; *s && j + 4 < n; s++) buf[j++] = ((unsigned char)*s < 0x20 || *s == 0x7F) ? '?' : *s;
    if (*s) { memcpy(buf + j, "...", 3); j += 3; }
    buf[j] = '\0';
    return buf;
}
#define SHOW_MAX 96

static int parse_real(const char *v, double *out) {
    char *end;
    errno = 0;
    double x = c_strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x)) return -1;
    *out = x;
    return 0;
}

/* The first control byte of s (tab allowed), or 0. */
static int control_byte(const char *s) {
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7F) return (unsigned char)*s;
    return 0;
}

/* run_name is one directory under out_dir: no '/', nothing that starts with
 * '.' (".", ".." climb; the runs browser skips hidden names). */
static int check_run_name(const char *v, bd_err *e) {
    char sh[SHOW_MAX];
    if (strchr(v, '/'))
        return bd_errf(e, "run_name = \"%s\": a run name is one directory name, without '/'", shown(sh, sizeof sh, v));
    if (v[0] == '.')
        return bd_errf(e, "run_name = \"%s\": a run name must not begin with '.' (\".\" and \"..\" leave out_dir)",
                       shown(sh, sizeof sh, v));
    return 0;
}

/* Names other trainers use for some keys: a misspelling of one of them
 * suggests ours ("lerning_rate" -> lr). They are never accepted as keys. */
static const char *const aliases[][2] = {
    {"learning_rate", "lr"}, {"lora_alpha", "alpha"}, {"lora_dropout", "dropout"}, {"lora_r", "rank"},
    {"num_train_epochs", "epochs"}, {"max_seq_length", "max_length"}, {"warmup_ratio", "warmup"},
    {"train_batch_size", "batch_size"}, {"output_dir", "out_dir"}, {"model_name_or_path", "model"},
};
#define N_ALIASES ((int)(sizeof aliases / sizeof aliases[0]))

const char *bd_config_closest_key(const char *name) {
    const char *cands[N_KEYS + N_ALIASES];
    for (int i = 0; i < N_KEYS; i++) cands[i] = keys[i].name;
    for (int i = 0; i < N_ALIASES; i++) cands[N_KEYS + i] = aliases[i][0];
    const char *near = bd_closest(name, cands, N_KEYS + N_ALIASES);
    for (int i = 0; near && i < N_ALIASES; i++)
        if (near == aliases[i][0]) return aliases[i][1];
    return near;
}

int bd_config_set(bd_config *c, const char *name, const char *value, bd_err *e) {
    char sh[SHOW_MAX];
    const key *k = find_key(name);
    if (!k) {
        const char *near = bd_config_closest_key(name);
        if (near) return bd_errf(e, "unknown key \"%s\" (did you mean \"%s\"?)", shown(sh, sizeof sh, name), near);
        char list[2048] = "";
        for (int i = 0; i < N_KEYS; i++) {
            strncat(list, keys[i].name, sizeof list - strlen(list) - 1);
            if (i + 1 < N_KEYS) strncat(list, ", ", sizeof list - strlen(list) - 1);
        }
        return bd_errf(e, "unknown key \"%s\" (keys: %s)", shown(sh, sizeof sh, name), list);
    }
    /* the value without surrounding blanks, measured before any copy: a value
     * longer than its field is refused, never cut */
    while (is_space(*value)) value++;
    size_t len = strlen(value);
    while (len && is_space(value[len - 1])) len--;
    size_t cap = k->k == K_STR ? k->size : BD_STR;
    if (len >= cap)
        return bd_errf(e, "%s: the value is %zu bytes, longer than the %zu this key holds", name, len, cap - 1);
    char v[BD_STR];
    memcpy(v, value, len);
    v[len] = '\0';
    char *dst = (char *)c + k->off;
    double lo = -INFINITY, hi = INFINITY;
    if (k->allowed && (k->k == K_INT || k->k == K_LONG || k->k == K_REAL)) {
        const char *dots = strstr(k->allowed, "..");
        lo = c_strtod(k->allowed, NULL);
        if (dots) hi = c_strtod(dots + 2, NULL);
    }
    switch (k->k) {
    case K_STR: {
        int bad = control_byte(v);
        if (bad) return bd_errf(e, "%s: the value holds the control character 0x%02x", name, bad);
        if (k->off == offsetof(bd_config, run_name) && check_run_name(v, e)) return -1;
        memcpy(dst, v, len + 1);
        return 0;
    }
    case K_INT:
    case K_LONG: {
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < lo || x > hi)
            return bd_errf(e, "%s = \"%s\": expected an integer from %.0f to %.0f", name, shown(sh, sizeof sh, v), lo, hi);
        if (k->k == K_INT) *(int *)dst = (int)x;
        else *(long *)dst = x;
        return 0;
    }
    case K_REAL: {
        double x;
        if (parse_real(v, &x) || x < lo || x > hi)
            return bd_errf(e, "%s = \"%s\": expected a number from %g to %g", name, shown(sh, sizeof sh, v), lo, hi);
        *(double *)dst = x;
        return 0;
    }
    case K_ENUM: {
        int idx = enum_index(k->allowed, v);
        if (idx < 0) return bd_errf(e, "%s = \"%s\": allowed values are %s", name, shown(sh, sizeof sh, v), k->allowed);
        *(int *)dst = idx;
        return 0;
    }
    case K_BOOL: {
        if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) *(int *)dst = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no")) *(int *)dst = 0;
        else return bd_errf(e, "%s = \"%s\": allowed values are true|false", name, shown(sh, sizeof sh, v));
        return 0;
    }
    case K_SPLIT: {
        double f[3];
        char tmp[BD_STR];
        memcpy(tmp, v, len + 1);
        char *save = NULL, *tok = strtok_r(tmp, ",", &save);
        int n = 0;
        while (tok && n < 4) {
            trim(tok);
            if (n < 3 && (parse_real(tok, &f[n]) || f[n] < 0 || f[n] > 1)) n = 4;
            else n++;
            tok = strtok_r(NULL, ",", &save);
        }
        if (n != 3 || fabs(f[0] + f[1] + f[2] - 1.0) > 1e-6)
            return bd_errf(e, "split = \"%s\": expected three fractions train,val,eval in [0,1] summing to 1",
                           shown(sh, sizeof sh, v));
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

/* The INI reader. A line is a comment ('#' or ';' first), a [section]
 * (ignored; a comment may follow it), blank, or key = value; leading blanks
 * mean nothing (no continuation lines) and there are no inline comments: the
 * value is the rest of the line, trimmed. Lines end at LF (a CR before it is
 * dropped) and may be of any length. The file is applied to a copy, so a
 * refused file leaves *c as it was. */
int bd_config_read(bd_config *c, FILE *f, const char *path, bd_err *e) {
    bd_config *tmp = malloc(sizeof *tmp);
    if (!tmp) return bd_errf(e, "%s: out of memory (%zu bytes for a configuration)", path, sizeof *tmp);
    *tmp = *c;
    long seen[N_KEYS] = {0}; /* line where each key was set */
    char *line = NULL, sh[SHOW_MAX];
    size_t cap = 0;
    ssize_t got;
    long no = 0;
    int rc = 0;
    errno = 0;
    while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
        no++;
        size_t n = (size_t)got;
        if (n && line[n - 1] == '\n') line[--n] = '\0';
        if (n && line[n - 1] == '\r') line[--n] = '\0';
        if (memchr(line, '\0', n)) { rc = bd_errf(e, "%s:%ld: the line holds a NUL byte", path, no); break; }
        char *s = line;
        if (no == 1 && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) s += 3; /* UTF-8 BOM */
        while (is_space(*s)) s++;
        if (!*s || *s == '#' || *s == ';') continue;
        if (*s == '[') {
            char *rb = strchr(s, ']');
            if (rb) trim(rb + 1);
            if (!rb || (rb[1] && rb[1] != '#' && rb[1] != ';'))
                rc = bd_errf(e, "%s:%ld: a [section] line must end with ']' (or a comment)", path, no);
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) { rc = bd_errf(e, "%s:%ld: not a key = value line: \"%s\"", path, no, shown(sh, sizeof sh, s)); break; }
        *eq = '\0';
        trim(s);
        if (!*s) { rc = bd_errf(e, "%s:%ld: no key before '='", path, no); break; }
        const key *k = find_key(s);
        if (k && seen[k - keys]) {
            rc = bd_errf(e, "%s:%ld: key %s given twice (first on line %ld)", path, no, s, seen[k - keys]);
            break;
        }
        if (k) seen[k - keys] = no;
        if (bd_config_set(tmp, s, eq + 1, e)) rc = bd_err_prefix(e, "%s:%ld", path, no);
    }
    if (rc == 0 && ferror(f)) rc = bd_errf(e, "%s:%ld: cannot read: %s", path, no + 1, strerror(errno ? errno : EIO));
    if (rc == 0) *c = *tmp;
    free(line);
    free(tmp);
    return rc;
}

int bd_config_load(bd_config *c, const char *path, bd_err *e) {
    FILE *f = fopen(path, "r");
    if (!f) return bd_errf(e, "%s: cannot open: %s", path, strerror(errno));
    int rc = bd_config_read(c, f, path, e);
    fclose(f);
    return rc;
}

int bd_config_finish(bd_config *c, bd_err *e) {
    if (c->max_length > 0 && c->max_length < 3)
        return bd_errf(e, "max_length = %d: at least 3 tokens ([CLS], one token, [SEP]), or 0 for min(128, the model's)",
                       c->max_length);
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

/* The shortest of %.9g..%.17g that reads back as x, in the C locale: a
 * written config.ini gives back the very same numbers (resume relies on it). */
static void fmt_real(char *buf, size_t n, double x) {
    locale_t l = c_locale(), old = l ? uselocale(l) : (locale_t)0;
    for (int p = 9; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, x);
        if (c_strtod(buf, NULL) == x) break;
    }
    if (l) uselocale(old);
}

static void value_text(const bd_config *c, const key *k, char *buf, size_t n) {
    const char *src = (const char *)c + k->off;
    switch (k->k) {
    case K_STR: snprintf(buf, n, "%s", src); break;
    case K_INT: snprintf(buf, n, "%d", *(const int *)src); break;
    case K_LONG: snprintf(buf, n, "%ld", *(const long *)src); break;
    case K_REAL: fmt_real(buf, n, *(const double *)src); break;
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
        char a[32], b[32], d[32];
        fmt_real(a, sizeof a, f[0]);
        fmt_real(b, sizeof b, f[1]);
        fmt_real(d, sizeof d, f[2]);
        snprintf(buf, n, "%s,%s,%s", a, b, d);
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
