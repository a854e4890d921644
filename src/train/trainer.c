/* trainer.c: one training run (see trainer.h). */
#include "trainer_priv.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bilevel.h"
#include "dataset.h"
#include "encode.h"
#include "eval.h"
#include "fmt.h"
#include "metrics.h"
#include "model.h"
#include "optim.h"
#include "orth.h"
#include "safetensors.h"
#include "tokenizer.h"
#include "trainable.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double bd_tr_wall(const bd_trainer *t) { return t->wall_offset + now_s() - t->wall0; }

void bd_tr_fail(bd_trainer *t, const char *fmt, ...) {
    if (t->io_failed) return; /* the first failure is the one to report */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->io_err.msg, sizeof t->io_err.msg, fmt, ap);
    va_end(ap);
    t->io_failed = 1;
}

/* write all of buf to fd (a short write continues; an error returns errno) */
static int write_all(int fd, const char *buf, size_t n) {
    while (n) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? errno : EIO;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

void bd_tr_log(bd_trainer *t, const char *fmt, ...) {
    char line[BD_CH_LOGLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (t->log_fd >= 0 && !t->io_failed) {
        char buf[BD_CH_LOGLEN + 32];
        int n = snprintf(buf, sizeof buf, "[%8.1fs] %s\n", bd_tr_wall(t), line);
        if (n >= (int)sizeof buf) n = (int)sizeof buf - 1;
        int er = write_all(t->log_fd, buf, (size_t)n);
        if (er) bd_tr_fail(t, "%s/log.txt: write failed: %s", t->dir, strerror(er));
    }
    bd_channel_log(t->ch, "%s", line);
}

void bd_tr_metric(bd_trainer *t, const char *name, double v) {
    bd_metric mm = {bd_tr_wall(t), t->mstep, t->phase, "", v};
    snprintf(mm.name, sizeof mm.name, "%s", name);
    if (t->metrics_fd >= 0) {
        char row[192];
        int n = snprintf(row, sizeof row, "%.3f,%ld,%s,%s,%.9g\n", mm.wall, mm.step,
                         mm.phase == 2 ? "retrain" : "train", mm.name, v);
        if (n >= (int)sizeof row) n = (int)sizeof row - 1;
        if (t->mlen + (size_t)n > t->mcap) {
            size_t cap = t->mcap ? 2 * t->mcap : 8192;
            while (cap < t->mlen + (size_t)n) cap *= 2;
            char *nb = realloc(t->mbuf, cap);
            if (!nb) { bd_tr_fail(t, "out of memory for %zu bytes of metrics rows", cap); return; }
            t->mbuf = nb;
            t->mcap = cap;
        }
        memcpy(t->mbuf + t->mlen, row, (size_t)n);
        t->mlen += (size_t)n;
    }
    bd_channel_metric(t->ch, &mm);
}

int bd_tr_commit_metrics(bd_trainer *t) {
    if (t->metrics_fd < 0 || !t->mlen) return 0;
    int er = write_all(t->metrics_fd, t->mbuf, t->mlen);
    if (er) {
        /* no torn row stays behind: the rows wait (a checkpoint carries them) */
        if (ftruncate(t->metrics_fd, (off_t)t->metrics_off) != 0) { /* the checkpoint's length cuts it on resume */ }
        bd_tr_fail(t, "%s/metrics.csv: write failed: %s", t->dir, strerror(er));
        return -1;
    }
    t->metrics_off += (long long)t->mlen;
    t->mlen = 0;
    return 0;
}

/* ---- data ---- */

static int load_data(bd_trainer *t, bd_err *e) {
    const bd_config *c = &t->c;
    bd_csv_opts co = {c->text_column, c->text_pair_column[0] ? c->text_pair_column : NULL, c->label_column,
                      (bd_task)c->task};
    const char *paths[3] = {c->data, c->val_data, c->eval_data};
    for (int i = 0; i < 3; i++)
        if (paths[i][0] && bd_dataset_load(&t->ds[i], paths[i], &co, e)) return -1;
    if (c->task == BD_TASK_CLASSIFICATION) {
        char cfgpath[4200];
        snprintf(cfgpath, sizeof cfgpath, "%s/config.json", c->model);
        bd_bert_config mc;
        if (bd_bert_config_load(&mc, cfgpath, e)) return -1;
        if (mc.id2label) {
            t->labels.n = mc.n_id2label;
            t->labels.names = calloc((size_t)mc.n_id2label, sizeof(char *));
            for (int i = 0; t->labels.names && i < mc.n_id2label; i++) t->labels.names[i] = strdup(mc.id2label[i]);
        }
        bd_bert_config_free(&mc);
        if (!t->labels.names && bd_labels_from_dataset(&t->labels, &t->ds[0], e)) return -1;
        for (int i = 0; i < t->labels.n; i++)
            if (!t->labels.names[i]) return bd_errf(e, "out of memory");
        if (t->labels.n < 2) return bd_errf(e, "%s: only one label: classification needs two or more", c->data);
        for (int i = 0; i < 3; i++)
            if (t->ds[i].n_rows && bd_dataset_map_labels(&t->ds[i], &t->labels, e)) return -1;
    }
    /* tokenize each file, then lay them end to end */
    bd_encoded parts[3] = {{0}};
    int total = 0;
    for (int i = 0; i < 3; i++) {
        if (!t->ds[i].n_rows) continue;
        if (bd_encode_dataset(&parts[i], &t->ds[i], t->tok, c->max_length, e)) {
            for (int k = 0; k < i; k++) bd_encoded_free(&parts[k]);
            return -1;
        }
        total += t->ds[i].n_rows;
        t->n_truncated[i] = parts[i].n_truncated;
    }
    const int L = c->max_length;
    t->enc.n = total;
    t->enc.max_length = L;
    t->enc.ids = malloc(sizeof(int32_t) * (size_t)total * L);
    t->enc.type_ids = malloc(sizeof(int32_t) * (size_t)total * L);
    t->enc.len = malloc(sizeof(int) * (size_t)total);
    t->label_of = calloc((size_t)total, sizeof(int));
    t->target_of = calloc((size_t)total, sizeof(float));
    if (!t->enc.ids || !t->enc.type_ids || !t->enc.len || !t->label_of || !t->target_of) {
        for (int k = 0; k < 3; k++) bd_encoded_free(&parts[k]);
        return bd_errf(e, "out of memory for %d tokenized rows", total);
    }
    int base[3] = {0}, off = 0;
    for (int i = 0; i < 3; i++) {
        base[i] = off;
        int n = t->ds[i].n_rows;
        if (!n) continue;
        memcpy(t->enc.ids + (size_t)off * L, parts[i].ids, sizeof(int32_t) * (size_t)n * L);
        memcpy(t->enc.type_ids + (size_t)off * L, parts[i].type_ids, sizeof(int32_t) * (size_t)n * L);
        memcpy(t->enc.len + off, parts[i].len, sizeof(int) * (size_t)n);
        for (int r = 0; r < n; r++) {
            if (t->ds[i].label) t->label_of[off + r] = t->ds[i].label[r];
            if (t->ds[i].target) t->target_of[off + r] = t->ds[i].target[r];
        }
        off += n;
        bd_encoded_free(&parts[i]);
    }
    /* split data's rows; files given for val / eval take their role whole */
    bd_split sp;
    if (bd_split_rows(&sp, t->ds[0].n_rows, c->split[0], c->split[1], c->split[2], (uint64_t)c->seed, e)) return -1;
    t->n_tr = sp.n_train;
    t->n_va = t->ds[1].n_rows ? t->ds[1].n_rows : sp.n_val;
    t->n_ev = t->ds[2].n_rows ? t->ds[2].n_rows : sp.n_eval;
    t->tr = malloc(sizeof(int) * (size_t)(t->n_tr + 1));
    t->va = malloc(sizeof(int) * (size_t)(t->n_va + 1));
    t->ev = malloc(sizeof(int) * (size_t)(t->n_ev + 1));
    t->fit = malloc(sizeof(int) * (size_t)(t->n_tr + t->n_va + 1));
    if (!t->tr || !t->va || !t->ev || !t->fit) { bd_split_free(&sp); return bd_errf(e, "out of memory"); }
    for (int i = 0; i < t->n_tr; i++) t->tr[i] = sp.train[i];
    for (int i = 0; i < t->n_va; i++) t->va[i] = t->ds[1].n_rows ? base[1] + i : sp.val[i];
    for (int i = 0; i < t->n_ev; i++) t->ev[i] = t->ds[2].n_rows ? base[2] + i : sp.eval[i];
    bd_split_free(&sp);
    if (t->n_tr < 1) return bd_errf(e, "%s: no training rows after the split %g,%g,%g", c->data, c->split[0], c->split[1], c->split[2]);
    /* LoRA, DoRA and full fine-tuning train on D_tr + D_val; BiDoRA splits them */
    t->n_fit = t->n_tr;
    memcpy(t->fit, t->tr, sizeof(int) * (size_t)t->n_tr);
    if (c->method != BD_METHOD_BIDORA) {
        memcpy(t->fit + t->n_tr, t->va, sizeof(int) * (size_t)t->n_va);
        t->n_fit += t->n_va;
    } else if (t->n_va < 1) {
        return bd_errf(e, "method bidora needs validation rows (split's val fraction or val_data)");
    }
    return 0;
}

/* ---- shuffled batches ---- */

static void shuffle_epoch(int *order, const int *rows, int n, uint64_t seed, long epoch) {
    memcpy(order, rows, sizeof(int) * (size_t)n);
    bd_rng r;
    bd_rng_seed(&r, seed * 1000003ull + (uint64_t)epoch);
    bd_rng_shuffle(&r, order, n);
}

/* The next B rows of a shuffled stream over rows[n] (a new shuffle each epoch). */
static int next_rows(int *out, int B, int *order, const int *rows, int n, long *epoch, long *pos, uint64_t seed) {
    int k = 0;
    while (k < B) {
        if (*pos >= n) { (*epoch)++; *pos = 0; shuffle_epoch(order, rows, n, seed, *epoch); }
        out[k++] = order[(*pos)++];
        if (*pos >= n && k > 0) break; /* the last batch of an epoch may be smaller */
    }
    return k;
}

/* ---- batches ---- */

/* Pad rows[B] into a batch (buffers ids/tids/mask/lab/tg) with dropout seed. */
static void make_batch(bd_trainer *t, bd_batch *bt, const int *rows, int B, int32_t *ids, int32_t *tids,
                       float *mask, int32_t *lab, float *tg, uint64_t seed) {
    int T = bd_make_batch(&t->enc, rows, B, t->pad_id, ids, tids, mask);
    for (int b = 0; b < B; b++) {
        lab[b] = t->label_of[rows[b]];
        tg[b] = t->target_of[rows[b]];
    }
    *bt = (bd_batch){ids, tids, mask, lab, tg, B, T, (bd_task)t->c.task, seed};
}

static uint64_t mask_seed(const bd_trainer *t, int which) {
    return (uint64_t)t->c.seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)t->step << 8) ^ (uint64_t)which ^
           ((uint64_t)t->phase << 60);
}

/* Clip the groups' gradients to max_grad_norm together; returns the norm. */
static double clip(bd_trainer *t, bd_group *const *gs, int n) {
    bd_backend *be = t->be;
    double ss = 0.0;
    for (int i = 0; i < n; i++) ss += be->sumsq(be, gs[i]->g, gs[i]->n);
    double norm = sqrt(ss);
    if (t->c.max_grad_norm > 0 && norm > t->c.max_grad_norm)
        for (int i = 0; i < n; i++) be->scale(be, gs[i]->g, gs[i]->n, (float)(t->c.max_grad_norm / (norm + 1e-6)));
    return norm;
}

static double lr_now(const bd_trainer *t, double base) {
    long step = t->phase == 2 ? t->step - t->total_phase1 : t->step;
    long total = t->phase == 2 ? t->c.retrain_steps : t->total_phase1;
    long warm = (long)floor(t->c.warmup * (double)total);
    return base * bd_lr_factor((bd_schedule)t->c.schedule, step, total, warm);
}

/* ---- BiDoRA's upper step (ALGORITHM.md phase 1, steps 2-6) ---- */

static int upper_step(bd_trainer *t, const bd_batch *lower, bd_err *e) {
    const bd_config *c = &t->c;
    int *vrows = t->rows + c->batch_size; /* second half of the row buffer */
    int Bv = next_rows(vrows, c->val_batch_size, t->val_order, t->va, t->n_va, &t->val_epoch, &t->val_pos,
                       (uint64_t)c->seed + 7777);
    bd_batch val;
    make_batch(t, &val, vrows, Bv, t->vids, t->vtids, t->vmask, t->vlab, t->vtg, mask_seed(t, 2));
    double vloss;
    float *h = t->t.mag.g; /* h overwrites the magnitude gradient once g+- are used */
    /* the +-eps passes on the first hyper_batch_size rows of b_t (a uniform
     * sample of it: the batch is shuffled); all of it by default */
    bd_batch hyper = *lower;
    if (hyper.B > c->hyper_batch_size) hyper.B = c->hyper_batch_size;
    if (bd_hypergrad(&t->bl, &hyper, &val, h, &vloss, e)) return -1;
    bd_tr_metric(t, "val/loss", vloss);
    const size_t nm = t->t.mag.n;
    bd_tr_metric(t, "upper/hypergrad_norm", sqrt(t->be->sumsq(t->be, h, nm)));
    bd_group *gm = &t->t.mag;
    clip(t, &gm, 1);
    double lr = lr_now(t, c->upper_lr);
    bd_tr_metric(t, "upper/lr", lr);
    bd_optim_step(&t->opt_mag, t->t.mag.w, h, (float)lr);
    return 0;
}

/* ---- evaluation ---- */

static double primary(const bd_trainer *t, const bd_eval_result *r) {
    return t->c.task == BD_TASK_CLASSIFICATION ? r->cls.accuracy : r->pearson;
}

static int evaluate(bd_trainer *t, bd_err *e) {
    if (!t->n_ev) return 0;
    bd_eval_result r;
    if (bd_evaluate(&t->m, &t->enc, t->ev, t->n_ev, t->label_of, t->target_of, (bd_task)t->c.task,
                    t->c.batch_size, t->pad_id, &r, e)) return -1;
    bd_tr_metric(t, "eval/loss", r.loss);
    if (t->c.task == BD_TASK_CLASSIFICATION) {
        bd_tr_metric(t, "eval/accuracy", r.cls.accuracy);
        bd_tr_metric(t, "eval/f1", r.cls.macro_f1);
        bd_tr_metric(t, "eval/mcc", r.cls.mcc);
    } else {
        bd_tr_metric(t, "eval/pearson", r.pearson);
        bd_tr_metric(t, "eval/spearman", r.spearman);
    }
    double p = primary(t, &r);
    bd_tr_log(t, "step %ld: eval loss %.4f, %s %.4f", t->step, r.loss,
          t->c.task == BD_TASK_CLASSIFICATION ? "accuracy" : "pearson", p);
    bd_eval_result_free(&r);
    if (!isnan(p) && (t->best_step < 0 || p > t->best)) {
        t->best = p;
        t->best_step = t->step;
        if (bd_tr_save_model_dir(t, "best", e)) return -1;
    }
    return 0;
}

/* ---- set-up ---- */

static void publish(bd_trainer *t, bd_run_state st, const char *msg) {
    bd_status s;
    memset(&s, 0, sizeof s);
    s.state = st;
    s.step = t->step;
    s.total = t->total;
    s.phase = t->phase;
    s.loss = t->last_loss;
    s.steps_per_s = t->rate;
    s.eta_s = t->rate > 0 ? (double)(t->total - t->step) / t->rate : 0;
    s.elapsed_s = bd_tr_wall(t);
    /* weights, trainable groups with gradients, optimizer moments, activations */
    s.mem_bytes = sizeof(float) * (t->m.total + t->t.dir.n * 2 + t->t.mag.n * 2 + t->t.full.n +
                                   t->opt_dir.n * 2 + t->opt_mag.n * 2 + t->opt_full.n * 2) +
                  t->a.mem_bytes;
    if (t->be && !t->be->host_memory) s.mem_bytes = t->be->live_bytes; /* device memory in use */
    snprintf(s.device, sizeof s.device, "%s", t->be ? t->be->device : "");
    snprintf(s.method, sizeof s.method, "%s", bd_method_names[t->c.method & 3]);
    snprintf(s.backend, sizeof s.backend, "%s", t->be ? t->be->name : "");
    s.pid = (long)getpid();
    s.started = t->started;
    snprintf(s.run_dir, sizeof s.run_dir, "%s", t->dir);
    if (msg) snprintf(s.message, sizeof s.message, "%s", msg);
    bd_channel_status(t->ch, &s);
}

/* ---- the run directory ---- */

/* The keys a resume may change (cmd_train refuses the others), as the one
 * list that both the check and the messages read. */
static const char resumable[] = "max_steps, epochs, retrain_steps, eval_every, checkpoint_every, backend, tf32, on_hangup";

int bd_trainer_key_resumable(const char *key) {
    size_t n = strlen(key);
    for (const char *p = resumable; n && (p = strstr(p, key)); p += n)
        if ((p == resumable || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0')) return 1;
    return 0;
}

const char *bd_trainer_resumable_keys(void) { return resumable; }

/* Is every entry of dir one a run killed before its first checkpoint can
 * leave (so a fresh start may take the directory over)? */
static int only_leftovers(const char *dir) {
    static const char *const ok[] = {"lock", "config.ini", "metrics.csv", "log.txt", "checkpoint", "best", BD_CONTROL_SOCK,
                                     "detached.log"};
    DIR *d = opendir(dir);
    if (!d) return 0;
    int only = 1;
    struct dirent *de;
    while (only && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || strstr(de->d_name, ".tmp.")) continue;
        int known = 0;
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) known |= !strcmp(de->d_name, ok[i]);
        only = known;
    }
    closedir(d);
    return only;
}

/* rm DIR/SUB/<files>; rmdir DIR/SUB (a best/ of a run started again) */
static void remove_sub(const char *dir, const char *sub) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char f[4700];
        snprintf(f, sizeof f, "%s/%s", path, de->d_name);
        unlink(f);
    }
    closedir(d);
    rmdir(path);
}

static void note(bd_trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(bd_trainer *t, const char *fmt, ...) {
    size_t k = strlen(t->open_note);
    if (k + 3 >= sizeof t->open_note) return;
    if (k) { memcpy(t->open_note + k, "; ", 3); k += 2; }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->open_note + k, sizeof t->open_note - k, fmt, ap);
    va_end(ap);
}

/* Make (or find) the run directory and take its lock: the one writer. A
 * fresh start creates it exclusively; one that finds a directory takes it
 * over only when no checkpoint is there (a run killed before its first). */
static int claim_dir(bd_trainer *t, const char *resume_dir, bd_err *e) {
    const bd_config *c = &t->c;
    struct stat st;
    if (resume_dir) {
        if (bd_path(t->dir, sizeof t->dir, e, "%s", resume_dir)) return -1;
        if (stat(t->dir, &st) != 0 || !S_ISDIR(st.st_mode)) return bd_errf(e, "%s: no such run directory", t->dir);
        if (bd_runlock_take(&t->lock, t->dir, e)) return -1;
    } else {
        char name[300];
        if (c->run_name[0]) {
            snprintf(name, sizeof name, "%s", c->run_name);
        } else {
            time_t now = time(NULL);
            struct tm tm;
            localtime_r(&now, &tm);
            char stamp[32];
            strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
            snprintf(name, sizeof name, "%s-%s", bd_method_names[c->method], stamp);
        }
        if (bd_path(t->dir, sizeof t->dir, e, "%s/%s", c->out_dir, name)) return -1;
        if (bd_mkdir_p(c->out_dir, e)) return -1;
        if (mkdir(t->dir, 0755) == 0) t->created_dir = 1;
        else if (errno != EEXIST) return bd_errf(e, "%s: cannot create the run directory: %s", t->dir, strerror(errno));
        else if (stat(t->dir, &st) != 0 || !S_ISDIR(st.st_mode)) return bd_errf(e, "%s: exists and is not a directory", t->dir);
        if (bd_runlock_take(&t->lock, t->dir, e)) return -1;
        if (!t->created_dir) {
            char probe[4400];
            snprintf(probe, sizeof probe, "%s/checkpoint/state.bin", t->dir);
            if (access(probe, F_OK) == 0)
                return bd_errf(e, "%s: a run is already there (continue it with bidora train --resume %s, or pick another run_name)",
                               t->dir, t->dir);
            if (!only_leftovers(t->dir))
                return bd_errf(e, "%s: exists and is not a bidora run directory (pick another run_name)", t->dir);
            remove_sub(t->dir, "best");
            note(t, "%s had no checkpoint (its run stopped before the first): started it again", t->dir);
        }
    }
    if (t->lock.stale_pid > 0)
        note(t, "took over the lock of pid %ld on %s, which is gone", t->lock.stale_pid, t->lock.stale_host);
    /* the lock holder serves the run's control socket (bidora ps / attach / stop) */
    char cnote[256];
    bd_err ce;
    if (bd_control_open(&t->ctl, t->dir, t->ch, cnote, sizeof cnote, &ce))
        note(t, "no control socket, so bidora attach, ps and stop cannot reach this run: %s", ce.msg);
    else if (cnote[0])
        note(t, "%s", cnote);
    int n = bd_run_remove_temps(t->dir);
    if (n > 0) note(t, "removed %d temporary file%s left by a killed process", n, n > 1 ? "s" : "");
    return 0;
}

/* A resume's config against the run's config.ini: only resumable keys may
 * differ; returns how many did (listed in t->open_note). */
static int resume_changes(bd_trainer *t, bd_err *e) {
    bd_config *old = malloc(sizeof *old);
    if (!old) return bd_errf(e, "out of memory for a configuration");
    char path[4400];
    snprintf(path, sizeof path, "%s/config.ini", t->dir);
    bd_config_defaults(old);
    if (bd_config_load(old, path, e) || bd_config_finish(old, e)) { free(old); return -1; }
    int changed = 0;
    for (int i = 0; i < bd_config_n_keys(); i++) {
        bd_config_key_info k;
        bd_config_key(i, &k);
        char was[BD_STR], now[BD_STR];
        bd_config_get(old, k.name, was, sizeof was);
        bd_config_get(&t->c, k.name, now, sizeof now);
        if (!strcmp(was, now)) continue;
        if (t->phase == 2 && (!strcmp(k.name, "max_steps") || !strcmp(k.name, "epochs"))) {
            free(old);
            return bd_errf(e, "%s: %s cannot change: the run is in phase 2 (step %ld), phase 1 is over", path, k.name, t->step);
        }
        if (!bd_trainer_key_resumable(k.name)) {
            free(old);
            return bd_errf(e, "%s: %s cannot change on resume (%s there, %s asked); the keys that can: %s", path, k.name,
                           was, now, bd_trainer_resumable_keys());
        }
        note(t, "%s %s -> %s", k.name, was, now);
        changed++;
    }
    free(old);
    return changed;
}

/* config.ini (fresh runs, or a resume that changed keys), metrics.csv as
 * the checkpoint left it, log.txt. */
/* RUN/config.ini, the resolved configuration (temp name + rename). */
static int write_config(bd_trainer *t, bd_err *e) {
    char path[4400];
    snprintf(path, sizeof path, "%s/config.ini", t->dir);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return bd_errf(e, "out of memory");
    fprintf(f, "# bidora run configuration (resolved); rerun with: bidora train -c %s\n", path);
    bd_config_write(&t->c, f);
    if (fclose(f) != 0) { free(buf); return bd_errf(e, "out of memory"); }
    int rc = bd_write_file_atomic(path, buf, len, e);
    free(buf);
    return rc ? -1 : 0;
}

static int open_files(bd_trainer *t, int resume, int rewrite_config, bd_err *e) {
    char path[4400];
    if ((!resume || rewrite_config) && write_config(t, e)) return -1;
    snprintf(path, sizeof path, "%s/metrics.csv", t->dir);
    if (bd_tr_restore_metrics(t, path, resume && t->has_ckpt, e)) return -1;
    t->metrics_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (t->metrics_fd < 0) return bd_errf(e, "%s: cannot open: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/log.txt", t->dir);
    t->log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (t->log_fd < 0) return bd_errf(e, "%s: cannot open: %s", path, strerror(errno));
    return 0;
}

/* max_length = 0: min(128, the model's positions), now that the model is known. */
static int resolve_max_length(bd_trainer *t, bd_err *e) {
    if (t->c.max_length > 0) return 0;
    char cfgpath[4200];
    snprintf(cfgpath, sizeof cfgpath, "%s/config.json", t->c.model);
    bd_bert_config mc;
    if (bd_bert_config_load(&mc, cfgpath, e)) return -1;
    const int maxpos = mc.max_pos - mc.pos_offset;
    bd_bert_config_free(&mc);
    t->c.max_length = maxpos < 128 ? maxpos : 128;
    return 0;
}

/* Everything a run needs but its directory: the tokenizer, the model's limits, the
 * rows (columns, labels, tokens, split), the model on its backend, the adapters and
 * optimizers, the buffers and the planned steps. bd_trainer_open and
 * bd_trainer_preflight share it, so the pre-flight refuses what a run would. */
static int setup(bd_trainer *t, bd_err *e) {
    const bd_config *c = &t->c;
    {
        char probe[4200];
        snprintf(probe, sizeof probe, "%s/config.json", c->model);
        if (access(probe, F_OK) != 0) {
            bd_errf(e, "model = %s: no config.json there (a Hugging Face model directory: config.json, "
                       "model.safetensors and the tokenizer's files)", c->model);
            return -1;
        }
    }
    if (!(t->tok = bd_tok_load(c->model, e))) return -1;
    t->pad_id = bd_tok_pad_id(t->tok);
    if (resolve_max_length(t, e)) return -1;
    {
        char cfgpath[4200];
        snprintf(cfgpath, sizeof cfgpath, "%s/config.json", c->model);
        bd_bert_config mc;
        if (bd_bert_config_load(&mc, cfgpath, e)) return -1;
        /* RoBERTa's positions start after padding_idx; its pairs need no second segment */
        int maxpos = mc.max_pos - mc.pos_offset, types = mc.type_vocab, bert = mc.family == BD_FAMILY_BERT;
        bd_bert_config_free(&mc);
        if (c->text_pair_column[0] && types < 2 && bert) {
            bd_errf(e, "%s: type_vocab_size %d: the model has no second segment, so text_pair_column cannot be used",
                    cfgpath, types);
            return -1;
        }
        if (c->max_length > maxpos) {
            bd_errf(e, "max_length = %d exceeds the model's %d positions (max_position_embeddings)", c->max_length, maxpos);
            return -1;
        }
    }
    if (load_data(t, e)) return -1;
    int L = c->task == BD_TASK_CLASSIFICATION ? t->labels.n : 1;
    if (bd_bert_load(&t->m, c->model, L, (uint64_t)c->seed, e)) return -1;
    {
        static const char *const names[] = {"auto", "cpu", "cuda"};
        if (!(t->be = bd_backend_open(names[c->backend], c->tf32, t->be_note, sizeof t->be_note, e))) return -1;
        if (bd_bert_to_backend(&t->m, t->be, e)) return -1;
    }
    unsigned mask;
    if (bd_parse_target_modules(c->target_modules, &mask, e)) return -1;
    bd_adapter_opts ao = {(bd_method)c->method, c->rank, (float)c->alpha, c->rslora, (float)c->dropout, mask,
                          c->dora_norm_grad == 0};
    if (bd_trainable_init(&t->t, &t->m, &ao, (uint64_t)c->seed + 1, e)) return -1;
    if (c->init_adapter[0]) {
        if (c->method == BD_METHOD_FULL) { bd_errf(e, "init_adapter: full fine-tuning takes no adapter"); return -1; }
        if (bd_peft_load(&t->t, &t->m, c->init_adapter, e)) return -1;
    }
    const bd_optim_kind ok = (bd_optim_kind)c->optimizer;
    const float b1 = (float)c->adam_beta1, b2 = (float)c->adam_beta2, eps = (float)c->adam_eps;
    if (c->method == BD_METHOD_FULL) {
        if (bd_optim_init_on(&t->opt_full, t->be, ok, t->t.full.n, b1, b2, eps, (float)c->weight_decay, e)) return -1;
        const int H = t->m.cfg.hidden;
        t->full_w0 = malloc(sizeof(float) * (size_t)t->m.cfg.n_layers * 2 * H * H);
        if (!t->full_w0) { bd_errf(e, "out of memory"); return -1; }
        for (int l = 0; l < t->m.cfg.n_layers; l++) {
            memcpy(t->full_w0 + ((size_t)l * 2) * H * H, bd_bert_host(&t->m, t->m.layers[l].q_w), sizeof(float) * (size_t)H * H);
            memcpy(t->full_w0 + ((size_t)l * 2 + 1) * H * H, bd_bert_host(&t->m, t->m.layers[l].v_w), sizeof(float) * (size_t)H * H);
        }
    } else {
        float mag_wd = (float)(c->method == BD_METHOD_BIDORA ? c->upper_weight_decay : c->weight_decay);
        if (bd_optim_init_on(&t->opt_dir, t->be, ok, t->t.dir.n, b1, b2, eps, (float)c->weight_decay, e) ||
            bd_optim_init_on(&t->opt_mag, t->be, ok, t->t.mag.n, b1, b2, eps, mag_wd, e)) return -1;
        if (!(t->init_dir = bd_be_allocf(t->be, t->t.dir.n, "the direction's starting values"))) {
            bd_be_check(t->be, e);
            return -1;
        }
        t->be->copy(t->be, t->init_dir, t->t.dir.w, sizeof(float) * t->t.dir.n);
    }
    const int B = c->batch_size, T = c->max_length, NL = t->m.cfg.num_labels;
    if (B > 4096) { bd_errf(e, "batch_size %d is above 4096", B); return -1; }
    (void)NL;
    if (bd_bert_acts_alloc(&t->a, &t->m, B, T, 1, e)) return -1;
    if (bd_bilevel_init(&t->bl, &t->m, &t->t, &t->a, B, e)) return -1;
    t->bl.darts2 = c->hypergrad == 0;
    t->bl.darts_alpha = c->darts_alpha;
    t->bl.hyper_xi = c->hyper_xi;
    t->ids = malloc(sizeof(int32_t) * (size_t)B * T);
    t->tids = malloc(sizeof(int32_t) * (size_t)B * T);
    t->mask = malloc(sizeof(float) * (size_t)B * T);
    t->lab = malloc(sizeof(int32_t) * (size_t)B);
    t->tg = malloc(sizeof(float) * (size_t)B);
    t->vids = malloc(sizeof(int32_t) * (size_t)B * T);
    t->vtids = malloc(sizeof(int32_t) * (size_t)B * T);
    t->vmask = malloc(sizeof(float) * (size_t)B * T);
    t->vlab = malloc(sizeof(int32_t) * (size_t)B);
    t->vtg = malloc(sizeof(float) * (size_t)B);
    t->rows = malloc(sizeof(int) * (size_t)B * 2);
    t->order = malloc(sizeof(int) * (size_t)(t->n_tr + t->n_va + 1));
    t->val_order = malloc(sizeof(int) * (size_t)(t->n_va + 1));
    if (!t->ids || !t->tids || !t->mask || !t->lab || !t->tg || !t->vids || !t->vtids || !t->vmask || !t->vlab ||
        !t->vtg || !t->rows || !t->order || !t->val_order) {
        bd_errf(e, "out of memory for batch buffers");
        return -1;
    }
    long per_epoch = (t->n_fit + B - 1) / B;
    t->total_phase1 = c->max_steps > 0 ? c->max_steps : (long)ceil(c->epochs * (double)per_epoch);
    t->total = t->total_phase1 + (c->method == BD_METHOD_BIDORA ? c->retrain_steps : 0);
    shuffle_epoch(t->order, t->fit, t->n_fit, (uint64_t)c->seed, 0);
    if (t->n_va) shuffle_epoch(t->val_order, t->va, t->n_va, (uint64_t)c->seed + 7777, 0);
    return 0;
}

/* A trainer of c publishing to ch, before any set-up: nothing open, nothing loaded. */
static bd_trainer *new_trainer(const bd_config *c, bd_channel *ch) {
    bd_trainer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->c = *c;
    t->ch = ch;
    t->wall0 = now_s();
    t->phase = 1;
    t->best_step = -1;
    t->best = -INFINITY;
    t->metrics_fd = t->log_fd = t->lock.fd = -1;
    t->last_eval = -1;
    t->ckpt_logged = -1;
    t->started = (long long)time(NULL);
    return t;
}

int bd_trainer_open(bd_trainer **out, const bd_config *c, const char *resume_dir, bd_channel *ch, bd_err *e) {
    *out = NULL;
    bd_trainer *t = new_trainer(c, ch);
    if (!t) return bd_errf(e, "out of memory");
    int rc = -1;
    publish(t, BD_RUN_LOADING, "loading");
    /* the directory first: a second writer is turned away before any loading */
    if (claim_dir(t, resume_dir, e)) goto fail;
    /* a fresh run's config.ini at once: killed while it loads, it can still be resumed (from step 0) */
    if (!resume_dir && write_config(t, e)) goto fail;
    if (setup(t, e)) goto fail;
    int changed = 0;
    if (resume_dir) {
        int r = bd_tr_load_checkpoint(t, e);
        if (r < 0) goto fail;
        if (r == 1) note(t, "no checkpoint in %s (its run stopped before the first): starting from step 0", t->dir);
        if ((changed = resume_changes(t, e)) < 0) goto fail;
        if (t->ckpt_version == 1 && t->step >= t->total) {
            char ad[4400];
            snprintf(ad, sizeof ad, "%s/adapter", t->dir);
            t->done = access(ad, F_OK) == 0;
        }
        if (t->step < t->total) t->done = 0;
        if (t->step > t->total || (t->phase == 2 && t->step < t->total_phase1)) {
            bd_errf(e, "%s: the run is at step %ld%s: max_steps, epochs or retrain_steps cannot plan fewer steps", t->dir,
                    t->step, t->phase == 2 ? " (phase 2)" : "");
            goto fail;
        }
        if (t->done && t->mlen == 0) {
            /* nothing to do, and nothing is touched */
            bd_errf(e, "%s is finished (%ld %s); to train on, raise max_steps (or epochs): bidora train --resume %s max_steps=N",
                    t->dir, t->step, bd_plural(t->step, "step", "steps"), t->dir);
            rc = 1;
            goto fail;
        }
    }
    if (open_files(t, resume_dir != NULL, changed > 0, e)) goto fail;
    if (t->open_note[0]) bd_tr_log(t, "%s", t->open_note);
    bd_tr_log(t, "%s %s on %s: rows %d train, %d val, %d eval; %ld %s; %s", resume_dir ? "resumed" : "started",
          bd_method_names[c->method], c->data, t->n_tr, t->n_va, t->n_ev, t->total, bd_plural(t->total, "step", "steps"),
          resume_dir ? (t->has_ckpt ? "from its checkpoint" : "from step 0") : "new run");
    bd_tr_log(t, "training on %s%s%s", t->be->device, t->be_note[0] ? "; " : "", t->be_note);
    if (c->max_length == 0) bd_tr_log(t, "max_length = 0: %d tokens a row (128, or the model's positions if fewer)", t->c.max_length);
    for (int i = 0; i < 3; i++)
        if (t->ds[i].warning[0]) bd_tr_log(t, "warning: %s", t->ds[i].warning);
    for (int i = 0; i < 3; i++)
        if (t->n_truncated[i])
            bd_tr_log(t, "%s: %d of %d rows longer than max_length = %d tokens: truncated (longest side first)",
                      t->ds[i].path, t->n_truncated[i], t->ds[i].n_rows, c->max_length);
    *out = t;
    publish(t, BD_RUN_RUNNING, NULL);
    return 0;
fail:
    publish(t, rc == 1 ? BD_RUN_DONE : BD_RUN_FAILED, e->msg);
    bd_control_close(t->ctl); /* its viewers get the failure; the socket goes before the directory */
    t->ctl = NULL;
    if (t->created_dir && t->lock.fd >= 0 && t->metrics_fd < 0) {
        /* nothing of the run was written but its config: leave no directory behind
         * (only while holding the lock: a writer that won it keeps the directory) */
        char cfg[4400];
        snprintf(cfg, sizeof cfg, "%s/config.ini", t->dir);
        unlink(cfg);
        unlink(t->lock.path);
        bd_runlock_release(&t->lock);
        rmdir(t->dir);
    }
    bd_trainer_close(t);
    return rc;
}

/* ---- a run's eval split, scored again (bidora eval --run) ---- */

int bd_trainer_eval_run(const bd_config *c, const char *model_dir, bd_eval_progress progress, void *ctx,
                        bd_run_eval *out, bd_err *e) {
    memset(out, 0, sizeof *out);
    bd_trainer *t = new_trainer(c, NULL); /* no steps: nothing is published */
    if (!t) return bd_errf(e, "out of memory");
    int rc = -1;
    if (!(t->tok = bd_tok_load(c->model, e))) goto out;
    t->pad_id = bd_tok_pad_id(t->tok);
    if (resolve_max_length(t, e)) goto out;
    if (load_data(t, e)) goto out; /* the rows, labels and split exactly as the run had them */
    if (!t->n_ev) {
        bd_errf(e, "%s: the run has no eval rows (split's eval fraction is 0 and no eval_data)", c->data);
        goto out;
    }
    int L = c->task == BD_TASK_CLASSIFICATION ? t->labels.n : 1;
    const int full = c->method == BD_METHOD_FULL;
    if (bd_bert_load(&t->m, full ? model_dir : c->model, L, (uint64_t)c->seed, e)) goto out;
    {
        static const char *const names[] = {"auto", "cpu", "cuda"};
        if (!(t->be = bd_backend_open(names[c->backend], c->tf32, t->be_note, sizeof t->be_note, e))) goto out;
        if (bd_bert_to_backend(&t->m, t->be, e)) goto out;
    }
    if (!full) {
        unsigned mask;
        if (bd_parse_target_modules(c->target_modules, &mask, e)) goto out;
        bd_adapter_opts ao = {(bd_method)c->method, c->rank, (float)c->alpha, c->rslora, (float)c->dropout, mask,
                              c->dora_norm_grad == 0};
        if (bd_trainable_init(&t->t, &t->m, &ao, (uint64_t)c->seed + 1, e) || bd_peft_load(&t->t, &t->m, model_dir, e))
            goto out;
    }
    if (bd_evaluate_progress(&t->m, &t->enc, t->ev, t->n_ev, t->label_of, t->target_of, (bd_task)c->task,
                             c->batch_size, t->pad_id, progress, ctx, &out->r, e))
        goto out;
    out->gold = calloc((size_t)t->n_ev, sizeof *out->gold);
    out->target = calloc((size_t)t->n_ev, sizeof *out->target);
    out->file_row = calloc((size_t)t->n_ev, sizeof *out->file_row);
    if (!out->gold || !out->target || !out->file_row) { bd_errf(e, "out of memory for %d rows", t->n_ev); goto out; }
    /* eval rows come from eval_data when given (laid after data and val_data), else from data */
    const int from_file = t->ds[2].n_rows > 0, base = from_file ? t->ds[0].n_rows + t->ds[1].n_rows : 0;
    snprintf(out->eval_file, sizeof out->eval_file, "%s", from_file ? c->eval_data : c->data);
    for (int i = 0; i < t->n_ev; i++) {
        out->gold[i] = t->label_of[t->ev[i]];
        out->target[i] = t->target_of[t->ev[i]];
        out->file_row[i] = t->ev[i] - base;
    }
    out->labels = t->labels; /* handed over */
    memset(&t->labels, 0, sizeof t->labels);
    rc = 0;
out:
    if (rc) bd_run_eval_free(out);
    bd_trainer_close(t);
    return rc;
}

void bd_run_eval_free(bd_run_eval *x) {
    bd_eval_result_free(&x->r);
    bd_labels_free(&x->labels);
    free(x->gold);
    free(x->target);
    free(x->file_row);
    memset(x, 0, sizeof *x);
}

/* ---- the loop ---- */

/* Phase 2: M frozen; V back to its phase-1 start; train on D_tr + D_val. */
static void enter_phase2(bd_trainer *t) {
    t->phase = 2;
    t->be->copy(t->be, t->t.dir.w, t->init_dir, sizeof(float) * t->t.dir.n);
    if (t->opt_dir.m1) t->be->zero(t->be, t->opt_dir.m1, sizeof(float) * 2 * t->opt_dir.n);
    t->opt_dir.t = 0;
    memcpy(t->fit + t->n_tr, t->va, sizeof(int) * (size_t)t->n_va);
    t->n_fit = t->n_tr + t->n_va;
    t->epoch = 0;
    t->pos = 0;
    shuffle_epoch(t->order, t->fit, t->n_fit, (uint64_t)t->c.seed + 2, 0);
    bd_tr_log(t, "phase 2: magnitudes frozen, direction re-initialised, training on %d %s", t->n_fit,
              bd_plural(t->n_fit, "row", "rows"));
}

static int train_step(bd_trainer *t, bd_err *e) {
    const bd_config *c = &t->c;
    t->mstep = t->step + 1;
    double t0 = now_s();
    int *rows = t->rows;
    uint64_t seed = (uint64_t)c->seed + (t->phase == 2 ? 2 : 0);
    int B = next_rows(rows, c->batch_size, t->order, t->fit, t->n_fit, &t->epoch, &t->pos, seed);
    bd_batch lower;
    make_batch(t, &lower, rows, B, t->ids, t->tids, t->mask, t->lab, t->tg, mask_seed(t, 1));
    double loss;
    if (bd_batch_loss(&t->bl, &lower, BD_GRADS_ALL, &loss, e)) return -1;
    if (!isfinite(loss)) {
        if (t->has_ckpt)
            return bd_errf(e, "step %ld: the training loss is %s; stopped (the last good checkpoint is in %s/checkpoint)",
                           t->mstep, isnan(loss) ? "NaN" : "infinite", t->dir);
        return bd_errf(e, "step %ld: the training loss is %s; stopped before any checkpoint (lower lr, or check the data; "
                       "bidora train --resume %s starts it again from step 0)", t->mstep, isnan(loss) ? "NaN" : "infinite", t->dir);
    }
    t->last_loss = loss;
    bd_tr_metric(t, "train/loss", loss);
    const int bidora = c->method == BD_METHOD_BIDORA;
    if (bidora && c->orth_lambda > 0) {
        double R;
        if (bd_orth_add(&t->bl, c->orth_lambda, &R, e)) return -1;
        bd_tr_metric(t, "train/orth", R);
    }
    double lr = lr_now(t, t->phase == 2 ? c->retrain_lr : c->lr);
    bd_tr_metric(t, "lr", lr);
    if (c->method == BD_METHOD_FULL) {
        bd_group *g = &t->t.full;
        bd_tr_metric(t, "train/grad_norm", clip(t, &g, 1));
        bd_optim_step(&t->opt_full, t->t.full.w, t->t.full.g, (float)lr);
    } else if (c->method == BD_METHOD_DORA) {
        bd_group *gs[2] = {&t->t.dir, &t->t.mag};
        bd_tr_metric(t, "train/grad_norm", clip(t, gs, 2));
        bd_optim_step(&t->opt_dir, t->t.dir.w, t->t.dir.g, (float)lr);
        bd_optim_step(&t->opt_mag, t->t.mag.w, t->t.mag.g, (float)lr);
    } else {
        /* LoRA, and BiDoRA's lower level: V only (M moves only in upper steps) */
        bd_group *g = &t->t.dir;
        bd_tr_metric(t, "train/grad_norm", clip(t, &g, 1));
        bd_optim_step(&t->opt_dir, t->t.dir.w, t->t.dir.g, (float)lr);
    }
    if (bidora && t->phase == 1 && t->step % c->upper_every == 0 && upper_step(t, &lower, e)) return -1;
    if (bd_be_check(t->be, e)) return -1;
    double ms = (now_s() - t0) * 1e3;
    bd_tr_metric(t, "time/step_ms", ms);
    t->step++;
    double inst = 1e3 / ms;
    t->rate = t->rate > 0 ? 0.9 * t->rate + 0.1 * inst : inst;
    return 0;
}

/* A write or allocation failed during the step: keep what can be kept (a
 * checkpoint carries the rows metrics.csv refused), then stop with it. */
static int io_failure(bd_trainer *t, bd_err *e) {
    *e = t->io_err;
    bd_err ce;
    size_t k = strlen(e->msg);
    if (bd_trainer_checkpoint(t, &ce) == 0)
        snprintf(e->msg + k, sizeof e->msg - k, " (checkpoint at step %ld written: bidora train --resume %s continues)",
                 t->step, t->dir);
    else
        snprintf(e->msg + k, sizeof e->msg - k, " (no checkpoint could be written either: %.300s)", ce.msg);
    return -1;
}

int bd_trainer_run(bd_trainer *t, bd_err *e) {
    const bd_config *c = &t->c;
    if (t->mlen && bd_tr_commit_metrics(t)) { /* rows a checkpoint carried */
        *e = t->io_err;
        goto fail;
    }
    while (t->step < t->total) {
        if (bd_channel_stop_requested(t->ch)) break;
        struct stat ls;
        if (fstat(t->lock.fd, &ls) == 0 && ls.st_nlink == 0) {
            /* the run directory was removed (rm -rf): nothing could be kept, a detached run would train for nobody */
            bd_errf(e, "%s: the run directory was removed while training; stopped at step %ld", t->dir, t->step);
            goto fail;
        }
        if (bd_channel_pause_requested(t->ch)) {
            publish(t, BD_RUN_PAUSED, "paused");
            bd_tr_log(t, "paused at step %ld", t->step);
            int stop;
            /* a checkpoint asked for while paused is written at once */
            while (!(stop = bd_channel_wait_if_paused(t->ch)) && bd_channel_take_save(t->ch))
                if (bd_trainer_checkpoint(t, e)) goto fail; /* it logs "checkpoint at step N" */
            if (stop) break;
            bd_tr_log(t, "resumed at step %ld", t->step);
            publish(t, BD_RUN_RUNNING, NULL);
        }
        if (bd_channel_take_save(t->ch) && bd_trainer_checkpoint(t, e)) goto fail;
        if (c->method == BD_METHOD_BIDORA && t->phase == 1 && t->step >= t->total_phase1) enter_phase2(t);
        if (train_step(t, e)) goto fail;
        t->mstep = t->step;
        if (c->eval_every > 0 && t->step % c->eval_every == 0) {
            if (evaluate(t, e)) goto fail;
            bd_tr_weight_decomposition(t);
            t->last_eval = t->step;
        }
        bd_tr_publish_magnitudes(t);
        /* the step's rows go to metrics.csv in one write, before any checkpoint of it */
        if (t->io_failed || bd_tr_commit_metrics(t)) { io_failure(t, e); goto fail; }
        if (c->checkpoint_every > 0 && t->step % c->checkpoint_every == 0 && bd_trainer_checkpoint(t, e)) goto fail;
        if (t->io_failed) { io_failure(t, e); goto fail; }
        publish(t, BD_RUN_RUNNING, NULL);
    }
    t->mstep = t->step;
    if (t->step < t->total) {
        /* stopped early: keep everything needed to continue */
        if (bd_trainer_checkpoint(t, e)) goto fail;
        if (t->io_failed) { *e = t->io_err; goto fail; }
        bd_tr_log(t, "stopped at step %ld of %ld; continue with: bidora train --resume %s", t->step, t->total, t->dir);
        char msg[BD_CH_LOGLEN];
        snprintf(msg, sizeof msg, "stopped at step %ld; checkpoint saved", t->step);
        publish(t, BD_RUN_STOPPED, msg);
        return 1;
    }
    if (!t->done) {
        /* the final evaluation (once: a resume at the last step knows whether it ran) */
        if (t->last_eval != t->step) {
            if (evaluate(t, e)) goto fail;
            bd_tr_weight_decomposition(t);
            t->last_eval = t->step;
        }
        if (t->io_failed || bd_tr_commit_metrics(t)) { io_failure(t, e); goto fail; }
        if (bd_tr_save_model_dir(t, "adapter", e)) goto fail;
        t->done = 1;
    }
    if (bd_trainer_checkpoint(t, e)) goto fail;
    if (t->io_failed) { *e = t->io_err; goto fail; }
    bd_tr_log(t, "done: %ld %s in %.1fs; final %s in %s/adapter%s", t->step, bd_plural(t->step, "step", "steps"), bd_tr_wall(t),
          c->method == BD_METHOD_FULL ? "model" : "adapter", t->dir,
          t->best_step >= 0 ? ", best eval in best/" : "");
    if (t->io_failed) { *e = t->io_err; goto fail; }
    publish(t, BD_RUN_DONE, "done");
    return 0;
fail:
    bd_tr_log(t, "failed: %s", e->msg);
    publish(t, BD_RUN_FAILED, e->msg);
    return -1;
}

const char *bd_trainer_dir(const bd_trainer *t) { return t->dir; }

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int bd_trainer_preflight(const bd_config *c, bd_preflight *p, int time_steps, bd_err *e) {
    memset(p, 0, sizeof *p);
    p->ms_lower = p->ms_upper = p->ms_phase2 = NAN;
    bd_channel *ch = calloc(1, sizeof *ch);
    if (!ch || bd_channel_init(ch)) { free(ch); return bd_errf(e, "out of memory"); }
    bd_trainer *t = new_trainer(c, ch); /* its steps publish to a channel nobody reads */
    if (!t) { bd_channel_destroy(ch); free(ch); return bd_errf(e, "out of memory"); }
    int rc = -1;
    if (setup(t, e)) goto out;
    p->n_tr = t->n_tr;
    p->n_va = t->n_va;
    p->n_ev = t->n_ev;
    p->n_fit = t->n_fit;
    p->n_rows = t->enc.n;
    p->max_length = t->c.max_length;
    for (int i = 0; i < 3; i++) p->n_truncated += t->n_truncated[i];
    if (t->enc.n) {
        int *len = malloc(sizeof(int) * (size_t)t->enc.n);
        if (!len) { bd_errf(e, "out of memory"); goto out; }
        memcpy(len, t->enc.len, sizeof(int) * (size_t)t->enc.n);
        qsort(len, (size_t)t->enc.n, sizeof(int), cmp_int);
        p->tok_median = len[(t->enc.n - 1) / 2];
        p->tok_p95 = len[(int)((t->enc.n - 1) * 0.95 + 0.5)];
        p->tok_max = len[t->enc.n - 1];
        free(len);
    }
    p->n_full = t->t.full.n;
    p->n_mag = t->t.mag.n;
    p->n_adapter = p->n_full ? 0 : t->t.head_off;
    p->n_head = p->n_full ? 0 : t->t.dir.n - t->t.head_off;
    p->total = t->total;
    p->total_phase1 = t->total_phase1;
    snprintf(p->device, sizeof p->device, "%s", t->be->device);
    const int bidora = c->method == BD_METHOD_BIDORA, u = c->upper_every > 0 ? c->upper_every : 1;
    p->n_upper = bidora ? (t->total_phase1 + u - 1) / u : 0;
    if (!time_steps) { rc = 0; goto out; }
    p->timed = 1;
    /* step 0 warms up (allocation, caches); then real steps for about a second (at most 16),
     * and each kind's median: one step alone is noisy on a shared machine. A warm-up of over a
     * second (a large model) is not repeated: only a kind still missing gets its one step. */
    double first = 0, ms_up[16], ms_lo[16], spent = 0;
    int n_up = 0, n_lo = 0;
    for (int s = 0; s < 17 && t->step < t->total_phase1; s++) {
        const int upper = bidora && s % u == 0;
        if (s >= 2 && spent >= 1000) break;
        if (s >= 1 && first > 1000) { /* slow: the warm-up (step 0: an upper step for BiDoRA) stands for its kind */
            const int missing = upper != bidora && (upper ? n_up == 0 : n_lo == 0);
            if (!missing) break;
        }
        double t0 = now_s();
        if (bd_trainer_step(t, e)) goto out;
        double ms = 1e3 * (now_s() - t0);
        spent += ms;
        if (s == 0) first = ms;
        else if (upper) ms_up[n_up++] = ms;
        else ms_lo[n_lo++] = ms;
    }
    if (n_up) p->ms_upper = median(ms_up, n_up);
    if (n_lo) p->ms_lower = median(ms_lo, n_lo);
    if (bidora && isnan(p->ms_upper)) { p->ms_upper = first; p->from_warmup = 1; }
    if (!bidora && isnan(p->ms_lower)) { p->ms_lower = first; p->from_warmup = 1; }
    if (bidora && c->retrain_steps > 0) { /* one step of phase 2 (V restarts, M frozen) */
        enter_phase2(t);
        double ms[5];
        int k = 0;
        for (; k < 5 && t->step < t->total && (k == 0 || first <= 1000); k++) {
            double t0 = now_s();
            if (bd_trainer_step(t, e)) goto out;
            ms[k] = 1e3 * (now_s() - t0);
        }
        if (k) p->ms_phase2 = median(ms, k);
    }
    {
        const long n_low = t->total_phase1 - p->n_upper, n_p2 = t->total - t->total_phase1;
        p->est_s = 1e-3 * ((double)p->n_upper * (isnan(p->ms_upper) ? 0 : p->ms_upper) +
                           (double)n_low * (isnan(p->ms_lower) ? 0 : p->ms_lower) +
                           (double)n_p2 * (isnan(p->ms_phase2) ? 0 : p->ms_phase2));
    }
    rc = 0;
out:
    bd_trainer_close(t);
    bd_channel_destroy(ch);
    free(ch);
    return rc;
}

/* 1234567 -> "1,234,567" */
static void fmt_count(char *buf, size_t n, size_t v) {
    char raw[32], out[48];
    snprintf(raw, sizeof raw, "%zu", v);
    size_t len = strlen(raw), k = 0;
    for (size_t i = 0; i < len && k + 2 < sizeof out; i++) {
        if (i && (len - i) % 3 == 0) out[k++] = ',';
        out[k++] = raw[i];
    }
    out[k] = '\0';
    snprintf(buf, n, "%.30s", out);
}

static void fmt_ms(char *buf, size_t n, double ms) {
    if (isnan(ms)) snprintf(buf, n, "-");
    else if (ms >= 1000) snprintf(buf, n, "%.2f s", ms / 1000);
    else snprintf(buf, n, "%.1f ms", ms);
}

int bd_preflight_lines(const bd_preflight *p, const bd_config *c, char (*lines)[320], int max) {
    int n = 0;
    const int bidora = c->method == BD_METHOD_BIDORA;
#define LINE(...) do { if (n < max) snprintf(lines[n++], 320, __VA_ARGS__); } while (0)
    if (bidora) LINE("rows: D_tr %d, D_val %d, eval %d (%d tokenised)", p->n_tr, p->n_va, p->n_ev, p->n_rows);
    else LINE("rows: train %d, eval %d (%d tokenised)", p->n_fit, p->n_ev, p->n_rows);
    LINE("tokens a row: median %d, p95 %d, max %d; %d %s cut at %d", p->tok_median, p->tok_p95, p->tok_max,
         p->n_truncated, bd_plural(p->n_truncated, "row", "rows"), p->max_length);
    char a[32], m[32], h[32], all[32];
    if (p->n_full) {
        fmt_count(all, sizeof all, p->n_full);
        LINE("trainable: %s (full fine-tuning: every weight)", all);
    } else {
        fmt_count(a, sizeof a, p->n_adapter);
        fmt_count(m, sizeof m, p->n_mag);
        fmt_count(h, sizeof h, p->n_head);
        fmt_count(all, sizeof all, p->n_adapter + p->n_mag + p->n_head);
        if (p->n_mag) LINE("trainable: %s = direction (A, B) %s + head %s + magnitude %s", all, a, h, m);
        else LINE("trainable: %s = adapter (A, B) %s + head %s", all, a, h);
    }
    char lo[32], up[32], p2[32], run[32], steps[200] = "";
    fmt_ms(lo, sizeof lo, p->ms_lower);
    fmt_ms(up, sizeof up, p->ms_upper);
    fmt_ms(p2, sizeof p2, p->ms_phase2);
    size_t k = 0; /* the kinds of step this run has, each measured */
    if (!isnan(p->ms_lower))
        k += (size_t)snprintf(steps + k, sizeof steps - k, "%s%s%s", lo, bidora ? " lower" : "",
                              !bidora && p->from_warmup ? " (the first step's, warm-up included)" : "");
    if (bidora && !isnan(p->ms_upper) && k < sizeof steps)
        k += (size_t)snprintf(steps + k, sizeof steps - k, "%s%s with the upper level%s", k ? ", " : "", up,
                              p->from_warmup ? " (the first step's, warm-up included)" : "");
    if (bidora && !isnan(p->ms_phase2) && k < sizeof steps)
        snprintf(steps + k, sizeof steps - k, "%s%s phase 2", k ? ", " : "", p2);
    if (!p->timed) LINE("step time: not measured (p, or bidora train --check, times a few steps)");
    else LINE("step, measured: %s", steps);
    bd_fmt_duration(run, sizeof run, p->est_s);
    if (!p->timed) LINE("run: %ld %s", p->total, bd_plural(p->total, "step", "steps"));
    else if (bidora)
        LINE("run: %ld %s (%ld upper, %ld phase 2): about %s + evaluations", p->total,
             bd_plural(p->total, "step", "steps"), p->n_upper, p->total - p->total_phase1, run);
    else LINE("run: %ld %s: about %s + evaluations", p->total, bd_plural(p->total, "step", "steps"), run);
    LINE("on %.100s", p->device);
#undef LINE
    return n;
}

int bd_trainer_step(bd_trainer *t, bd_err *e) {
    if (t->c.method == BD_METHOD_BIDORA && t->phase == 1 && t->step >= t->total_phase1) enter_phase2(t);
    return train_step(t, e);
}

void bd_trainer_params(const bd_trainer *t, const float **v, size_t *nv, const float **m, size_t *nm) {
    bd_trainable_download(&t->t, &t->m);
    *v = t->t.full.n ? t->t.full.h : t->t.dir.h;
    *nv = t->t.full.n ? t->t.full.n : t->t.dir.n;
    *m = t->t.mag.h;
    *nm = t->t.mag.n;
}

long bd_trainer_steps(const bd_trainer *t, long *phase1) {
    if (phase1) *phase1 = t->total_phase1;
    return t->total;
}

void bd_trainer_close(bd_trainer *t) {
    if (!t) return;
    if (t->metrics_fd >= 0) close(t->metrics_fd);
    bd_control_close(t->ctl); /* before the lock: only its holder serves the socket */
    if (t->log_fd >= 0) close(t->log_fd);
    bd_runlock_release(&t->lock);
    free(t->mbuf);
    bd_bert_acts_free(&t->a);
    bd_optim_free(&t->opt_full);
    bd_optim_free(&t->opt_dir);
    bd_optim_free(&t->opt_mag);
    bd_trainable_free(&t->t, &t->m);
    bd_bert_free(&t->m);
    if (t->tok) bd_tok_free(t->tok);
    for (int i = 0; i < 3; i++) bd_dataset_free(&t->ds[i]);
    bd_labels_free(&t->labels);
    bd_encoded_free(&t->enc);
    free(t->label_of); free(t->target_of); free(t->tr); free(t->va); free(t->ev); free(t->fit);
    bd_bilevel_free(&t->bl);
    if (t->be) bd_be_free(t->be, t->init_dir);
    free(t->full_w0);
    for (int k = 0; k < BD_N_MODS; k++) { free(t->wd_x[k]); free(t->wd_y[k]); }
    free(t->order); free(t->val_order);
    free(t->ids); free(t->tids); free(t->lab); free(t->mask); free(t->tg);
    free(t->vids); free(t->vtids); free(t->vlab); free(t->vmask); free(t->vtg); free(t->rows);
    bd_backend_close(t->be);
    free(t);
}
