/* bidora eval --model DIR --data CSV [--out FILE] [key=value ...], or
 * bidora eval --run RUN_DIR: metrics on stdout, per-row predictions to
 * FILE, progress on stderr. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "dataset.h"
#include "encode.h"
#include "eval.h"
#include "fmt.h"
#include "model.h"
#include "tokenizer.h"
#include "trainable.h"
#include "trainer.h"
#include "worker.h"

static const char *const eval_usage =
    "usage: bidora eval --model DIR [--adapter DIR] --data CSV [--out FILE] [key=value ...]\n"
    "       bidora eval --run RUN_DIR [--adapter DIR] [--out FILE] [batch_size=N]\n"
    "  --model DIR    a Hugging Face model directory (or a fully fine-tuned run's adapter/ or best/)\n"
    "  --data CSV     the rows to score (all of them)\n"
    "  --adapter DIR  a PEFT LoRA/DoRA adapter (bidora's adapter/ or best/, or PEFT's save_pretrained)\n"
    "  --out FILE     per-row predictions as CSV (row, label, pred, logits)\n"
    "  --run RUN_DIR  a run's held-out eval split, rebuilt from RUN_DIR/config.ini as training built it,\n"
    "                 scored by RUN_DIR/best (else RUN_DIR/adapter; --adapter picks another)\n"
    "keys: text_column (text), text_pair_column (none), label_column (label),\n"
    "      task (classification|regression), max_length (model's), batch_size (32), seed (0)\n"
    "Progress on stderr: one updating line on a terminal, else a line every tenth of the batches.\n";

static const char *const eval_keys[] = {"text_column", "text_pair_column", "label_column", "task", "max_length",
                                        "batch_size", "seed"};

typedef struct eval_opts {
    const char *model, *data, *out, *adapter, *run;
    const char *other_key;     /* the first key=value other than batch_size */
    int batch_set;
    const char *text_column, *text_pair_column, *label_column;
    bd_task task;
    int max_length, batch_size;
    unsigned long long seed;
} eval_opts;

static int parse_int(const char *key, const char *v, int lo, int hi, int *out, bd_err *e) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *v == '\0' || *end || x < lo || x > hi)
        return bd_errf(e, "%s=%s: expected an integer from %d to %d", key, v, lo, hi);
    *out = (int)x;
    return 0;
}

static int parse_eval_args(eval_opts *o, int argc, char **argv, bd_err *e) {
    memset(o, 0, sizeof *o);
    o->text_column = "text";
    o->label_column = "label";
    o->batch_size = 32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--model") || !strcmp(a, "--data") || !strcmp(a, "--out") || !strcmp(a, "--adapter") ||
            !strcmp(a, "--run")) {
            if (i + 1 >= argc) return bd_errf(e, "%s needs a value", a);
            const char **dst = a[2] == 'm' ? &o->model : a[2] == 'd' ? &o->data : a[2] == 'o' ? &o->out
                             : a[2] == 'r' ? &o->run : &o->adapter;
            *dst = argv[++i];
            continue;
        }
        const char *eq = strchr(a, '=');
        if (!eq || a[0] == '-') return bd_errf(e, "unknown argument \"%s\" (see bidora eval --help)", a);
        size_t kl = (size_t)(eq - a);
        const char *v = eq + 1;
        if (kl == 10 && !strncmp(a, "batch_size", kl)) o->batch_set = 1;
        else if (!o->other_key) o->other_key = a;
        if (kl == 11 && !strncmp(a, "text_column", kl)) o->text_column = v;
        else if (kl == 16 && !strncmp(a, "text_pair_column", kl)) o->text_pair_column = v;
        else if (kl == 12 && !strncmp(a, "label_column", kl)) o->label_column = v;
        else if (kl == 4 && !strncmp(a, "task", kl)) {
            if (!strcmp(v, "classification")) o->task = BD_TASK_CLASSIFICATION;
            else if (!strcmp(v, "regression")) o->task = BD_TASK_REGRESSION;
            else return bd_errf(e, "task=%s: expected classification or regression", v);
        } else if (kl == 10 && !strncmp(a, "max_length", kl)) {
            if (parse_int("max_length", v, 3, 1 << 20, &o->max_length, e)) return -1;
        } else if (kl == 10 && !strncmp(a, "batch_size", kl)) {
            if (parse_int("batch_size", v, 1, 1 << 16, &o->batch_size, e)) return -1;
        } else if (kl == 4 && !strncmp(a, "seed", kl)) {
            int s;
            if (parse_int("seed", v, 0, 2147483647, &s, e)) return -1;
            o->seed = (unsigned long long)s;
        } else {
            char k[64];
            snprintf(k, sizeof k, "%.*s", (int)(kl < 63 ? kl : 63), a);
            const char *near = bd_closest(k, eval_keys, (int)(sizeof eval_keys / sizeof eval_keys[0]));
            if (near) return bd_errf(e, "unknown key \"%.*s\" (did you mean \"%s\"?)", (int)kl, a, near);
            return bd_errf(e, "unknown key \"%.*s\" (allowed: text_column, text_pair_column, label_column, "
                              "task, max_length, batch_size, seed; see bidora eval --help)", (int)kl, a);
        }
    }
    if (o->run) {
        if (o->other_key)
            return bd_errf(e, "%s: --run takes the keys from the run's config.ini (only batch_size may be given)", o->other_key);
        if (o->model || o->data)
            return bd_errf(e, "--run %s: the model and data come from its config.ini (no --model or --data with --run)", o->run);
        return 0;
    }
    if (!o->model) return bd_errf(e, "--model DIR is required (or --run RUN_DIR)");
    if (!o->data) return bd_errf(e, "--data CSV is required");
    return 0;
}

/* Labels: the adapter's (labels.json), else the model's own names when its
 * config has them, else the data's. */
static int resolve_labels(bd_labels *L, const char *adapter, const bd_bert_config *c, const bd_dataset *ds, bd_err *e) {
    memset(L, 0, sizeof *L);
    if (adapter) {
        if (bd_labels_load(adapter, L, e)) return -1;
        if (L->n) return 0;
    }
    if (c->id2label) {
        L->names = calloc((size_t)c->n_id2label, sizeof *L->names);
        if (!L->names) return bd_errf(e, "out of memory allocating the names of %d labels (id2label)", c->n_id2label);
        L->n = c->n_id2label;
        for (int i = 0; i < L->n; i++)
            if (!(L->names[i] = strdup(c->id2label[i])))
                return bd_errf(e, "out of memory copying label %d of %d (id2label)", i, L->n);
        return 0;
    }
    return bd_labels_from_dataset(L, ds, e);
}

/* Row i of r: gold[i] (classification) or target[i], row[i] its row in its file. */
static int write_predictions(const char *path, const int *gold, const float *target, const int *row,
                             const bd_labels *L, const bd_eval_result *r, bd_err *e) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return bd_errf(e, "%s: out of memory opening a buffer for the predictions", path);
    if (r->task == BD_TASK_CLASSIFICATION) {
        fprintf(f, "row,label,pred");
        for (int l = 0; l < r->num_labels; l++) fprintf(f, ",logit_%d", l);
        fprintf(f, "\n");
    } else {
        fprintf(f, "row,label,pred\n");
    }
    for (int i = 0; i < r->n; i++) {
        const float *z = r->logits + (size_t)i * r->num_labels;
        if (r->task == BD_TASK_CLASSIFICATION) {
            /* label names may hold commas or quotes: quote them CSV-style */
            const char *names[2] = {L->names[gold[i]], L->names[r->pred[i]]};
            fprintf(f, "%d", row ? row[i] : i);
            for (int k = 0; k < 2; k++) {
                fputs(",\"", f);
                for (const char *p = names[k]; *p; p++) { if (*p == '"') fputc('"', f); fputc(*p, f); }
                fputc('"', f);
            }
            for (int l = 0; l < r->num_labels; l++) fprintf(f, ",%.9g", (double)z[l]);
            fprintf(f, "\n");
        } else {
            fprintf(f, "%d,%.9g,%.9g\n", row ? row[i] : i, (double)target[i], (double)z[0]);
        }
    }
    /* a memory stream fails only when it cannot grow */
    int bad = ferror(f);
    if (fclose(f) || bad) {
        free(buf);
        return bd_errf(e, "%s: out of memory buffering the predictions of %d rows", path, r->n);
    }
    int rc = bd_write_file_atomic(path, buf, len, e);
    free(buf);
    return rc;
}

/* Progress on stderr: on a terminal one line rewritten in place (at most five
 * times a second), else a whole line every tenth of the batches; nothing for
 * an evaluation of fewer than 10 batches. */
typedef struct eval_progress {
    int tty, batch_size, every;
    double last;
} eval_progress;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void progress_init(eval_progress *p, int n, int batch_size) {
    int batches = (n + batch_size - 1) / batch_size;
    p->tty = isatty(2);
    p->batch_size = batch_size;
    p->every = batches >= 10 ? (batches + 9) / 10 : 0;
    p->last = 0;
}

static void on_progress(int done, int n, void *ctx) {
    eval_progress *p = ctx;
    if (p->every < 0) progress_init(p, n, p->batch_size); /* --run: sized at the first batch */
    if (!p->every) return;
    int batch = (done + p->batch_size - 1) / p->batch_size;
    if (p->tty) {
        double t = now_s();
        if (done < n && t - p->last < 0.2) return;
        p->last = t;
        if (done < n) fprintf(stderr, "\r\033[Keval: %d/%d rows (%.0f%%)", done, n, 100.0 * done / n);
        else fputs("\r\033[K", stderr); /* done: the metrics follow on a clean line */
    } else if (batch % p->every == 0 || done == n) {
        fprintf(stderr, "eval: %d/%d rows (%.0f%%)\n", done, n, 100.0 * done / n);
    }
}

static void print_metrics(const bd_eval_result *res, const bd_labels *L) {
    printf("rows       %d\n", res->n);
    if (res->task == BD_TASK_CLASSIFICATION) {
        printf("loss       %.6f\naccuracy   %.6f\nmacro_f1   %.6f\nmcc        %.6f\n", res->loss,
               res->cls.accuracy, res->cls.macro_f1, res->cls.mcc);
        printf("labels    ");
        for (int l = 0; l < L->n; l++) printf(" %d=%s", l, L->names[l]);
        printf("\n");
    } else {
        printf("mse        %.6f\npearson    %.6f\nspearman   %.6f\n", res->loss, res->pearson, res->spearman);
    }
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* bidora eval --run RUN_DIR: the run's own eval split, scored by best/ (else adapter/). */
static int eval_run(const eval_opts *o) {
    bd_err e = {{0}};
    bd_config *c = malloc(sizeof *c);
    if (!c) { bd_report("out of memory"); return 2; }
    if (bd_run_config(c, o->run, &e)) { bd_report(e.msg); free(c); return 1; }
    if (o->batch_set) c->batch_size = o->batch_size;
    char dir[4300];
    if (o->adapter) snprintf(dir, sizeof dir, "%s", o->adapter);
    else {
        snprintf(dir, sizeof dir, "%s/best", o->run);
        if (!is_dir(dir)) snprintf(dir, sizeof dir, "%s/adapter", o->run);
        if (!is_dir(dir)) {
            fprintf(stderr, "bidora: %s: no best/ or adapter/ yet (the run has not evaluated or finished; --adapter DIR "
                            "scores another)\n", o->run);
            free(c);
            return 1;
        }
    }
    fprintf(stderr, "bidora: scoring %s on the eval split of %s (%s, seed %ld)\n", dir, o->run,
            c->eval_data[0] ? c->eval_data : c->data, c->seed);
    bd_run_eval x;
    eval_progress pg = {0, c->batch_size, -1, 0};
    if (bd_trainer_eval_run(c, dir, on_progress, &pg, &x, &e)) { bd_report(e.msg); free(c); return 1; }
    printf("run        %s\nscored     %s\n", o->run, dir);
    print_metrics(&x.r, &x.labels);
    int st = 0;
    if (o->out && write_predictions(o->out, x.gold, x.target, x.file_row, &x.labels, &x.r, &e)) {
        bd_report(e.msg);
        st = 2;
    }
    bd_run_eval_free(&x);
    free(c);
    return st;
}

int bd_cmd_eval(int argc, char **argv) {
    bd_err e = {{0}};
    eval_opts o;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(eval_usage, stdout); return 0; }
    if (parse_eval_args(&o, argc, argv, &e)) {
        bd_report(e.msg); /* one line; --help has the rest */
        return 1;
    }
    if (o.run) return eval_run(&o);
    int status = 1;
    bd_bert_config cfg;
    bd_dataset ds = {0};
    bd_labels L = {0};
    bd_bert m = {0};
    bd_trainable tr = {0};
    bd_tokenizer *tok = NULL;
    bd_encoded enc = {0};
    bd_eval_result res = {0};
    int *rows = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", o.model);
    if (bd_bert_config_load(&cfg, path, &e)) { bd_report(e.msg); return 1; }
    if (o.text_pair_column && o.text_pair_column[0] && cfg.type_vocab < 2 && cfg.family == BD_FAMILY_BERT) { /* RoBERTa pairs by its template */
        bd_errf(&e, "%s: type_vocab_size %d: the model has no second segment, so text_pair_column cannot be used", path,
                cfg.type_vocab);
        goto fail;
    }
    bd_csv_opts co = {o.text_column, o.text_pair_column, o.label_column, o.task};
    if (bd_dataset_load(&ds, o.data, &co, &e)) goto fail;
    int num_labels = 1;
    if (o.task == BD_TASK_CLASSIFICATION) {
        if (ds.warning[0]) fprintf(stderr, "bidora: warning: %s\n", ds.warning);
        if (resolve_labels(&L, o.adapter, &cfg, &ds, &e) || bd_dataset_map_labels(&ds, &L, &e)) goto fail;
        num_labels = L.n;
        if (num_labels < 2) { bd_errf(&e, "%s: only one label (\"%s\"): classification needs two or more", o.data, L.names[0]); goto fail; }
    }
    if (bd_bert_load(&m, o.model, num_labels, o.seed, &e)) goto fail;
    if (o.adapter) {
        bd_adapter_opts ao;
        if (bd_peft_read_config(&ao, o.adapter, &e) || bd_trainable_init(&tr, &m, &ao, 0, &e) ||
            bd_peft_load(&tr, &m, o.adapter, &e)) goto fail;
        m.loaded_head = 1; /* the adapter's head, or the model's */
    }
    if (!m.loaded_head)
        fprintf(stderr, "bidora: note: %s has no classifier; evaluating a freshly initialised one (seed %llu)\n",
                o.model, o.seed);
    if (!(tok = bd_tok_load(o.model, &e))) goto fail;
    int max_len = o.max_length ? o.max_length : m.cfg.max_pos;
    if (max_len > m.cfg.max_pos) {
        bd_errf(&e, "max_length=%d exceeds the model's max_position_embeddings %d", max_len, m.cfg.max_pos);
        goto fail;
    }
    if (bd_encode_dataset(&enc, &ds, tok, max_len, &e)) goto fail;
    rows = malloc(sizeof(int) * (size_t)ds.n_rows);
    if (!rows) {
        bd_errf(&e, "out of memory allocating %zu bytes for the row list of %d rows", sizeof(int) * (size_t)ds.n_rows, ds.n_rows);
        status = 2;
        goto fail;
    }
    for (int i = 0; i < ds.n_rows; i++) rows[i] = i;
    eval_progress pg;
    progress_init(&pg, ds.n_rows, o.batch_size);
    if (bd_evaluate_progress(&m, &enc, rows, ds.n_rows, ds.label, ds.target, o.task, o.batch_size,
                             bd_tok_pad_id(tok), on_progress, &pg, &res, &e)) { status = 2; goto fail; }
    print_metrics(&res, &L);
    if (o.out && write_predictions(o.out, ds.label, ds.target, NULL, &L, &res, &e)) goto fail;
    status = 0;
    goto done;
fail:
    bd_report(e.msg);
done:
    free(rows);
    bd_eval_result_free(&res);
    bd_encoded_free(&enc);
    if (tok) bd_tok_free(tok);
    bd_trainable_free(&tr, &m);
    bd_bert_free(&m);
    bd_labels_free(&L);
    bd_dataset_free(&ds);
    bd_bert_config_free(&cfg);
    return status;
}
