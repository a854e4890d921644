/* trainer_files.c: what a run leaves on disk besides metrics rows: the
 * adapter (or model) directories, checkpoints and their loading, and the
 * metrics.csv truncation a resume needs. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "safetensors.h"
#include "trainer_priv.h"

#define CKPT_MAGIC "BDCKPT02"

/* ---- saving ---- */

int bd_tr_save_model_dir(bd_trainer *t, const char *sub, bd_err *e) {
    char dir[4300];
    snprintf(dir, sizeof dir, "%s/%s", t->dir, sub);
    if (bd_mkdir_p(dir, e)) return -1;
    if (t->c.method != BD_METHOD_FULL) {
        if (bd_peft_save(&t->t, &t->m, dir, t->c.model, e)) return -1;
        return bd_labels_save(dir, t->c.task == BD_TASK_CLASSIFICATION ? &t->labels : NULL, e);
    }
    /* full fine-tuning: a complete model directory */
    bd_st_out *outs = calloc((size_t)t->m.n_params, sizeof *outs);
    if (!outs) return bd_errf(e, "out of memory");
    bd_bert_download(&t->m);
    for (int i = 0; i < t->m.n_params; i++) {
        const bd_param *p = &t->m.params[i];
        outs[i] = (bd_st_out){p->name, t->m.data + p->offset, p->ndim, {p->shape[0], p->shape[1]}};
    }
    char path[4400];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    const char *meta[] = {"format", "pt"};
    int rc = bd_st_write(path, outs, t->m.n_params, meta, 1, e);
    free(outs);
    if (rc) return -1;
    static const char *const files[] = {"config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"};
    for (int f = 0; f < 4; f++) {
        char src[4300];
        snprintf(src, sizeof src, "%s/%s", t->c.model, files[f]);
        size_t len;
        bd_err e2;
        char *buf = bd_read_file(src, &len, &e2);
        if (!buf) continue; /* optional tokenizer files */
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        if (f == 0) {
            /* config.json names the labels this head predicts */
            json_error_t je;
            json_t *root = bd_json_loadb(buf, len, 0, &je);
            free(buf);
            if (!root) return bd_errf(e, "%s:%d:%d: cannot re-read: %s", src, je.line, je.column, je.text);
            json_t *id2 = json_object(), *l2i = json_object();
            for (int l = 0; l < t->labels.n; l++) {
                char k[16];
                snprintf(k, sizeof k, "%d", l);
                json_object_set_new(id2, k, json_string(t->labels.names[l]));
                json_object_set_new(l2i, t->labels.names[l], json_integer(l));
            }
            if (t->c.task == BD_TASK_REGRESSION) {
                json_object_set_new(root, "problem_type", json_string("regression"));
                json_object_set_new(root, "num_labels", json_integer(1));
                json_decref(id2);
                json_decref(l2i);
            } else {
                json_object_set_new(root, "id2label", id2);
                json_object_set_new(root, "label2id", l2i);
            }
            json_object_set_new(root, "architectures", json_pack("[s]", "BertForSequenceClassification"));
            buf = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
            json_decref(root);
            if (!buf) return bd_errf(e, "out of memory");
            len = strlen(buf);
        }
        rc = bd_write_file_atomic(path, buf, len, e);
        free(buf);
        if (rc) return -1;
    }
    return 0;
}

/* ---- checkpoints ----
 * state.bin, version 2: magic, position, data orders, the trained values
 * and optimizer moments, then what resume needs to continue the run's files
 * exactly: metrics.csv's committed length, rows not yet in it, the last
 * evaluation's step, whether the run finished, and the weight-decomposition
 * points of the slope k in full precision. A checksum ends it. Version 1
 * (without the tail) still loads: metrics.csv is then cut by step. */

#define CKPT_MAGIC_V1 "BDCKPT01"

static uint64_t fnv1a(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 1099511628211ull; }
    return h;
}

static void put(FILE *f, const void *p, size_t n) { fwrite(p, 1, n, f); }
static void put_i64(FILE *f, int64_t v) { put(f, &v, sizeof v); }
static void put_floats(FILE *f, const float *p, size_t n) {
    put_i64(f, (int64_t)n);
    if (n) put(f, p, sizeof(float) * n);
}
/* n floats of backend memory: through a host copy when the backend's memory is not the
 * host's. 0, or -1 when the copy cannot be allocated. */
static int put_dev(FILE *f, bd_backend *be, const float *p, size_t n) {
    if (!n || !p || be->host_memory) { put_floats(f, p, n); return 0; }
    float *h = malloc(sizeof(float) * n);
    if (!h) return -1;
    be->download(be, h, p, sizeof(float) * n);
    put_floats(f, h, n);
    free(h);
    return 0;
}
static int put_optim(FILE *f, bd_backend *be, const bd_optim *o) {
    put_i64(f, o->t);
    return put_dev(f, be, o->m1, o->m1 ? 2 * o->n : 0);
}

int bd_trainer_checkpoint(bd_trainer *t, bd_err *e) {
    /* rows first: whatever cannot be written now travels in the checkpoint */
    if (!t->io_failed) bd_tr_commit_metrics(t);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return bd_errf(e, "out of memory writing a checkpoint");
    put(f, CKPT_MAGIC, 8);
    int64_t hdr[8] = {t->step, t->epoch, t->pos, t->val_epoch, t->val_pos, t->phase, t->best_step, t->n_fit};
    put(f, hdr, sizeof hdr);
    double dd[2] = {t->best, bd_tr_wall(t)};
    put(f, dd, sizeof dd);
    put_i64(f, t->n_va);
    put(f, t->order, sizeof(int) * (size_t)t->n_fit);
    put(f, t->val_order, sizeof(int) * (size_t)t->n_va);
    bd_backend *be = t->be;
    if (put_dev(f, be, t->t.full.n ? t->t.full.w : NULL, t->t.full.n) ||
        put_dev(f, be, t->t.dir.w, t->t.dir.n) || put_dev(f, be, t->t.mag.w, t->t.mag.n) ||
        put_dev(f, be, t->init_dir, t->init_dir ? t->t.dir.n : 0) || put_optim(f, be, &t->opt_full) ||
        put_optim(f, be, &t->opt_dir) || put_optim(f, be, &t->opt_mag)) {
        fclose(f);
        free(buf);
        return bd_errf(e, "out of memory for the host copy of a checkpoint");
    }
    if (bd_be_check(be, e)) {
        fclose(f);
        free(buf);
        return -1;
    }
    int64_t tail[3] = {t->metrics_off, t->last_eval, t->done};
    put(f, tail, sizeof tail);
    put_i64(f, (int64_t)t->mlen);
    if (t->mlen) put(f, t->mbuf, t->mlen);
    put_i64(f, BD_N_MODS);
    for (int k = 0; k < BD_N_MODS; k++) {
        put_i64(f, t->wd_n[k]);
        if (t->wd_n[k]) {
            put(f, t->wd_x[k], sizeof(double) * (size_t)t->wd_n[k]);
            put(f, t->wd_y[k], sizeof(double) * (size_t)t->wd_n[k]);
        }
    }
    int bad = fflush(f) != 0;
    uint64_t sum = fnv1a(buf, len);
    put(f, &sum, sizeof sum);
    bad |= fclose(f) != 0;
    if (bad) { free(buf); return bd_errf(e, "out of memory writing a checkpoint"); }
    char dir[4300], path[4400];
    snprintf(dir, sizeof dir, "%s/checkpoint", t->dir);
    int rc = bd_mkdir_p(dir, e);
    if (!rc) {
        snprintf(path, sizeof path, "%s/state.bin", dir);
        rc = bd_write_file_atomic(path, buf, len, e);
    }
    free(buf);
    if (!rc) {
        t->has_ckpt = 1;
        /* the run's last checkpoint (it records that the run is done) follows the loop's at the
         * same step when checkpoint_every divides the steps: one line says both */
        if (!(t->done && t->ckpt_logged == t->step)) bd_tr_log(t, "checkpoint at step %ld", t->step);
        t->ckpt_logged = t->step;
    }
    return rc;
}

typedef struct reader { const char *p, *end, *path; bd_err *e; int bad; } reader;

static void get(reader *r, void *dst, size_t n) {
    if (r->bad || (size_t)(r->end - r->p) < n) { r->bad = 1; memset(dst, 0, n); return; }
    memcpy(dst, r->p, n);
    r->p += n;
}

static void get_floats(reader *r, float *dst, size_t want) {
    int64_t n;
    get(r, &n, sizeof n);
    if (r->bad) return;
    if ((size_t)n != want) { r->bad = 2; return; }
    if (n) get(r, dst, sizeof(float) * want);
}

/* want floats into backend memory (through a host copy off the CPU) */
static void get_dev(reader *r, bd_backend *be, float *dst, size_t want) {
    if (!want || !dst || be->host_memory) { get_floats(r, dst, want); return; }
    float *h = malloc(sizeof(float) * want);
    if (!h) { r->bad = 3; return; }
    get_floats(r, h, want);
    if (!r->bad) be->upload(be, dst, h, sizeof(float) * want);
    free(h);
}

static void get_optim(reader *r, bd_backend *be, bd_optim *o) {
    int64_t tt;
    get(r, &tt, sizeof tt);
    o->t = tt;
    get_dev(r, be, o->m1, o->m1 ? 2 * o->n : 0);
}

/* version 2's tail: metrics.csv's state and the slope's points */
static int get_tail(reader *r, bd_trainer *t, bd_err *e) {
    int64_t tail[3], n;
    get(r, tail, sizeof tail);
    get(r, &n, sizeof n);
    if (r->bad || tail[0] < 0 || n < 0 || n > r->end - r->p) return bd_errf(e, "%s: truncated", r->path);
    t->metrics_off = tail[0];
    t->last_eval = tail[1];
    t->done = tail[2] != 0;
    t->mlen = 0;
    if (n) {
        char *m = malloc((size_t)n);
        if (!m) return bd_errf(e, "%s: out of memory for %lld bytes of metrics rows", r->path, (long long)n);
        get(r, m, (size_t)n);
        free(t->mbuf);
        t->mbuf = m;
        t->mlen = t->mcap = (size_t)n;
    }
    int64_t nmods;
    get(r, &nmods, sizeof nmods);
    if (r->bad || nmods != BD_N_MODS) return bd_errf(e, "%s: truncated", r->path);
    for (int k = 0; k < BD_N_MODS; k++) {
        int64_t np;
        get(r, &np, sizeof np);
        if (r->bad || np < 0 || np > (r->end - r->p) / 16) return bd_errf(e, "%s: truncated", r->path);
        free(t->wd_x[k]);
        free(t->wd_y[k]);
        t->wd_x[k] = malloc(sizeof(double) * (size_t)(np ? np : 1));
        t->wd_y[k] = malloc(sizeof(double) * (size_t)(np ? np : 1));
        if (!t->wd_x[k] || !t->wd_y[k])
            return bd_errf(e, "%s: out of memory for %lld weight-decomposition points", r->path, (long long)np);
        get(r, t->wd_x[k], sizeof(double) * (size_t)np);
        get(r, t->wd_y[k], sizeof(double) * (size_t)np);
        t->wd_cap[k] = (int)(np ? np : 1);
        t->wd_n[k] = (int)np;
    }
    if (r->bad || r->p != r->end) return bd_errf(e, "%s: %s", r->path, r->bad ? "truncated" : "trailing bytes");
    return 0;
}

int bd_tr_load_checkpoint(bd_trainer *t, bd_err *e) {
    char path[4400];
    snprintf(path, sizeof path, "%s/checkpoint/state.bin", t->dir);
    if (access(path, F_OK) != 0 && errno == ENOENT) return 1;
    size_t len;
    char *buf = bd_read_file(path, &len, e);
    if (!buf) return -1;
    uint64_t sum;
    int v2 = len >= 8 && !memcmp(buf, CKPT_MAGIC, 8), v1 = len >= 8 && !memcmp(buf, CKPT_MAGIC_V1, 8);
    if (len < 8 + sizeof sum || (!v1 && !v2)) { free(buf); return bd_errf(e, "%s: not a bidora checkpoint", path); }
    memcpy(&sum, buf + len - sizeof sum, sizeof sum);
    if (fnv1a(buf, len - sizeof sum) != sum) { free(buf); return bd_errf(e, "%s: checksum mismatch (damaged file)", path); }
    reader r = {buf + 8, buf + len - sizeof sum, path, e, 0};
    int64_t hdr[8], n_va;
    double dd[2];
    get(&r, hdr, sizeof hdr);
    get(&r, dd, sizeof dd);
    get(&r, &n_va, sizeof n_va);
    if (!r.bad && hdr[5] == 2 && t->c.method == BD_METHOD_BIDORA && t->n_fit == t->n_tr) {
        /* phase 2 trains on D_tr + D_val */
        memcpy(t->fit + t->n_tr, t->va, sizeof(int) * (size_t)t->n_va);
        t->n_fit += t->n_va;
    }
    if (!r.bad && (hdr[7] != t->n_fit || n_va != t->n_va)) {
        free(buf);
        return bd_errf(e, "%s: the data changed since the checkpoint (%lld training rows then, %d now)", path,
                       (long long)hdr[7], t->n_fit);
    }
    t->step = hdr[0]; t->epoch = hdr[1]; t->pos = hdr[2]; t->val_epoch = hdr[3]; t->val_pos = hdr[4];
    t->phase = (int)hdr[5]; t->best_step = hdr[6];
    t->best = dd[0];
    t->wall_offset = dd[1];
    get(&r, t->order, sizeof(int) * (size_t)t->n_fit);
    get(&r, t->val_order, sizeof(int) * (size_t)t->n_va);
    bd_backend *be = t->be;
    get_dev(&r, be, t->t.full.n ? t->t.full.w : NULL, t->t.full.n);
    get_dev(&r, be, t->t.dir.w, t->t.dir.n);
    get_dev(&r, be, t->t.mag.w, t->t.mag.n);
    get_dev(&r, be, t->init_dir, t->init_dir ? t->t.dir.n : 0);
    get_optim(&r, be, &t->opt_full);
    get_optim(&r, be, &t->opt_dir);
    get_optim(&r, be, &t->opt_mag);
    if (r.bad) {
        free(buf);
        return bd_errf(e, "%s: %s", path, r.bad == 2 ? "parameter sizes differ from this run's (config changed?)" :
                                          r.bad == 3 ? "out of memory for the host copy" : "truncated");
    }
    if (bd_be_check(be, e)) { free(buf); return -1; }
    int rc = 0;
    if (v2) rc = get_tail(&r, t, e);
    else t->last_eval = -1; /* version 1: a resume at the last step evaluates again */
    t->ckpt_version = v2 ? 2 : 1;
    free(buf);
    if (!rc) t->has_ckpt = 1;
    return rc;
}

/* Version 1: keep metrics.csv's header and rows up to the checkpoint's step,
 * and rebuild the slope's points from them. */
static int truncate_by_step(bd_trainer *t, const char *path, bd_err *e) {
    size_t len;
    char *buf = bd_read_file(path, &len, e);
    if (!buf) return -1;
    char *out = malloc(len + 1);
    if (!out) { free(buf); return bd_errf(e, "out of memory"); }
    size_t o = 0;
    int first = 1;
    double pending_dm = 0; /* rows come as dM then dD for each layer and module */
    for (char *line = buf; *line;) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);
        long step = -1;
        const char *comma = memchr(line, ',', n);
        if (comma) step = strtol(comma + 1, NULL, 10);
        if (first || (step >= 0 && step <= t->step)) {
            memcpy(out + o, line, n);
            o += n;
            char nm[96], mod[64];
            double v;
            int layer;
            if (!first && sscanf(line, "%*[^,],%*[^,],%*[^,],%95[^,],%lf", nm, &v) == 2 &&
                sscanf(nm, "wd/layer.%d.%63[^/]/", &layer, mod) == 2) {
                size_t len_nm = strlen(nm);
                if (len_nm > 3 && !strcmp(nm + len_nm - 3, "/dM")) pending_dm = v;
                else if (len_nm > 3 && !strcmp(nm + len_nm - 3, "/dD")) bd_tr_wd_point(t, mod, v, pending_dm);
            }
        }
        first = 0;
        line += n;
    }
    int rc = bd_write_file_atomic(path, out, o, e);
    t->metrics_off = (long long)o;
    free(out);
    free(buf);
    return rc;
}

int bd_tr_restore_metrics(bd_trainer *t, const char *path, int have_ckpt, bd_err *e) {
    static const char header[] = "wall_time,step,phase,name,value\n";
    struct stat st;
    int exists = stat(path, &st) == 0;
    if (!have_ckpt || !exists) {
        if (have_ckpt && t->metrics_off > (long long)(sizeof header - 1))
            return bd_errf(e, "%s: missing, but the checkpoint has %lld bytes of rows in it", path, t->metrics_off);
        t->metrics_off = (long long)(sizeof header - 1);
        return bd_write_file_atomic(path, header, sizeof header - 1, e);
    }
    if (t->ckpt_version == 1) return truncate_by_step(t, path, e);
    if ((long long)st.st_size < t->metrics_off)
        return bd_errf(e, "%s: %lld bytes, shorter than the %lld the checkpoint wrote (was it edited?)", path,
                       (long long)st.st_size, t->metrics_off);
    /* rows after the checkpoint were written by the process that died: they come again */
    if ((long long)st.st_size > t->metrics_off && truncate(path, (off_t)t->metrics_off) != 0)
        return bd_errf(e, "%s: cannot cut back to the checkpoint's %lld bytes: %s", path, t->metrics_off, strerror(errno));
    return 0;
}
