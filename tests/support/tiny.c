#include "tiny.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <jansson.h>
#include <unistd.h>

#include "dataset.h"
#include "encode.h"
#include "model.h"
#include "rng.h"
#include "safetensors.h"
#include "tokenizer.h"
#include "trainable.h"

int tiny_batch(const int *rows, int n, int pair, int max_length, int32_t *ids, int32_t *type_ids,
               float *mask, int32_t *labels) {
    bd_err e = {{0}};
    bd_csv_opts co = {"text", pair ? "text_b" : NULL, "label", BD_TASK_CLASSIFICATION};
    bd_dataset ds;
    if (bd_dataset_load(&ds, TINY_REF "tiny.csv", &co, &e)) fail_msg("%s", e.msg);
    char *names[3] = {"negative", "neutral", "positive"};
    bd_labels L = {3, names};
    if (bd_dataset_map_labels(&ds, &L, &e)) fail_msg("%s", e.msg);
    bd_tokenizer *tok = bd_tok_load(TINY_REF "tiny_bert", &e);
    bd_encoded enc;
    if (!tok || bd_encode_dataset(&enc, &ds, tok, max_length, &e)) fail_msg("%s", e.msg);
    int T = bd_make_batch(&enc, rows, n, bd_tok_pad_id(tok), ids, type_ids, mask);
    for (int b = 0; b < n; b++) labels[b] = ds.label[rows[b]];
    bd_encoded_free(&enc);
    bd_tok_free(tok);
    bd_dataset_free(&ds);
    return T;
}

int tiny_json_rows(const char *path, const int *idx, int n, int max_t, int32_t *ids, float *mask, int32_t *labels,
                   int *rows_out) {
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j) fail_msg("%s: %s", path, je.text);
    json_t *rows = json_object_get(j, "rows"), *lab = json_object_get(j, "labels");
    const int pad = (int)json_integer_value(json_object_get(j, "pad"));
    if (!idx) {
        assert_true((int)json_array_size(rows) <= n);
        n = (int)json_array_size(rows);
    }
    int T = 0;
    for (int i = 0; i < n; i++) {
        json_t *r = json_array_get(rows, idx ? (size_t)idx[i] : (size_t)i);
        assert_non_null(r);
        if ((int)json_array_size(r) > T) T = (int)json_array_size(r);
    }
    assert_true(T <= max_t);
    for (int i = 0; i < n; i++) {
        const size_t k = idx ? (size_t)idx[i] : (size_t)i;
        json_t *r = json_array_get(rows, k);
        for (int t = 0; t < T; t++) {
            const int real = t < (int)json_array_size(r);
            ids[i * T + t] = real ? (int32_t)json_integer_value(json_array_get(r, (size_t)t)) : pad;
            mask[i * T + t] = real ? 1.0f : 0.0f;
        }
        labels[i] = (int32_t)json_integer_value(json_array_get(lab, k));
    }
    json_decref(j);
    if (rows_out) *rows_out = n;
    return T;
}

static char tmp_dirs[32][64];
static int n_tmp;

const char *tiny_tmp_dir(const char *tag) {
    assert_true(n_tmp < 32);
    char *dir = tmp_dirs[n_tmp++];
    snprintf(dir, sizeof tmp_dirs[0], "/tmp/bd_%.16s_XXXXXX", tag);
    assert_non_null(mkdtemp(dir));
    return dir;
}

int tiny_tmp_dirs_remove(void **state) {
    (void)state;
    char path[4200];
    for (int i = 0; i < n_tmp; i++) {
        DIR *d = opendir(tmp_dirs[i]);
        for (struct dirent *en; d && (en = readdir(d));) {
            if (!strcmp(en->d_name, ".") || !strcmp(en->d_name, "..")) continue;
            snprintf(path, sizeof path, "%s/%s", tmp_dirs[i], en->d_name);
            unlink(path);
        }
        if (d) closedir(d);
        rmdir(tmp_dirs[i]);
    }
    n_tmp = 0;
    return 0;
}

void tiny_put_file(const char *dir, const char *name, const char *text) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

void tiny_copy_file(const char *from_dir, const char *to_dir, const char *name) {
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/%s", from_dir, name);
    snprintf(b, sizeof b, "%s/%s", to_dir, name);
    FILE *f = fopen(a, "rb"), *g = fopen(b, "wb");
    assert_non_null(f);
    assert_non_null(g);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) assert_int_equal(fwrite(buf, 1, n, g), n);
    fclose(f);
    assert_int_equal(fclose(g), 0);
}

bd_tokenizer *tiny_tok_load(const char *dir) {
    bd_err e = {{0}};
    bd_tokenizer *t = bd_tok_load(dir, &e);
    if (!t) fail_msg("bd_tok_load %s: %s", dir, e.msg);
    return t;
}

void tiny_tok_refused(const char *dir, const char *want1, const char *want2) {
    bd_err e = {{0}};
    bd_tokenizer *t = bd_tok_load(dir, &e);
    if (t) fail_msg("%s loaded, expected \"%s\"", dir, want1);
    if (strncmp(e.msg, dir, strlen(dir)) || !strstr(e.msg, want1) || (want2 && !strstr(e.msg, want2)))
        fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", e.msg, want1, want2 ? want2 : "");
    assert_null(strchr(e.msg, '\n'));
}

int tiny_read_logits(const char *path, float *out, int max_rows, int L) {
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    assert_non_null(fgets(line, sizeof line, f));
    int n = 0;
    while (n < max_rows && fgets(line, sizeof line, f)) {
        char *p = line;
        for (int skip = 0; skip < 2; skip++) { p = strchr(p, ','); assert_non_null(p); p++; }
        for (int l = 0; l < L; l++) {
            out[n * L + l] = strtof(p, &p);
            if (*p == ',') p++;
        }
        n++;
    }
    fclose(f);
    return n;
}

double tiny_max_rel_err(const float *a, const float *b, size_t n, double floor_) {
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / fmax(fabs((double)b[i]), floor_);
        if (d > worst) worst = d;
    }
    return worst;
}

/* Compare our tensor (values at p, n floats) with the named reference tensor:
 * the relative error of each element against max(|ref_i|, 1% of the tensor's
 * largest |ref|). Both sides are float32 sums in different orders, so an
 * element 1000x below the tensor's scale carries ~1e-4 relative rounding
 * noise on its own; the 1% floor keeps the check about the gradient. */
double tiny_cmp_tensor(const bd_st *st, const char *name, const float *p, size_t n) {
    const bd_st_tensor *t = bd_st_find(st, name);
    if (!t) fail_msg("reference has no tensor %s", name);
    assert_int_equal((size_t)t->numel, n);
    float *ref = malloc(sizeof(float) * n);
    bd_err e = {{0}};
    if (bd_st_read_f32(st, t, ref, &e)) fail_msg("%s", e.msg);
    double worst = 0, scale = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)p[i] - ref[i]) / fmax(fabs(ref[i]), 1e-2 * scale);
        if (d > worst) { worst = d; wi = i; }
    }
    if (getenv("BD_VERBOSE")) printf("    %-90s worst %.2g at %zu: %.9g vs %.9g (max %.3g)\n", name, worst, wi, (double)p[wi], (double)ref[wi], scale);
    free(ref);
    return worst;
}


int tiny_fd_check(const char *name, float *w, const float *g, size_t n, int k, bd_rng *r, double *worst,
                  double (*loss)(void *ctx), void *ctx) {
    int bad = 0;
    for (int s = 0; s < k; s++) {
        size_t i = (size_t)bd_rng_below(r, n);
        float old = w[i];
        const float h = 1e-2f;
        w[i] = old + h;
        double lp = loss(ctx);
        w[i] = old - h;
        double lm = loss(ctx);
        w[i] = old;
        double fd = (lp - lm) / (2.0 * h), err = fabs(fd - g[i]), tol = 3e-4 + 3e-2 * fabs(g[i]);
        if (err / tol > *worst) *worst = err / tol;
        if (err > tol) {
            bad++;
            printf("  MISMATCH %s[%zu]: analytic %.6g, finite difference %.6g\n", name, i, (double)g[i], fd);
        }
    }
    return bad;
}

double tiny_ref_loss(const char *loss_txt, const char *key) {
    FILE *fp = fopen(loss_txt, "r");
    if (!fp) fail_msg("%s: cannot open", loss_txt);
    char line[512];
    double v = NAN;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, fp))
        if (!strncmp(line, key, kl)) v = atof(line + kl);
    fclose(fp);
    if (isnan(v)) fail_msg("%s: no line \"%s\"", loss_txt, key);
    return v;
}

double tiny_xent_step(const bd_bert *m, bd_bert_acts *a, bd_trainable *t, const int32_t *ids, const int32_t *tids,
                      const float *mask, const int32_t *labels, int B, int T, uint64_t seed, int backward) {
    const int L = m->cfg.num_labels;
    bd_err e = {{0}};
    bd_rng rng;
    bd_rng_seed(&rng, seed); /* the same dropout masks every call */
    bd_bert_forward(m, a, ids, tids, mask, B, T, &rng);
    float *probs = malloc(sizeof(float) * (size_t)B * L), *dl = calloc((size_t)B * L, sizeof(float));
    assert_non_null(probs);
    assert_non_null(dl);
    float loss = bd_xent_fwd(probs, a->logits, labels, B, L);
    if (backward) {
        bd_trainable_zero_grad(t);
        bd_xent_bwd(dl, probs, labels, B, L, 1.0f);
        if (bd_bert_backward(m, a, &t->grads, ids, tids, dl, B, T, &e)) fail_msg("%s", e.msg);
    }
    free(probs);
    free(dl);
    return loss;
}

double tiny_cmp_adapters(const bd_st *st, const bd_trainable *t, int grads) {
    double worst = 0;
    char name[200];
    for (int i = 0; i < t->n_ad; i++) {
        const bd_adapted_linear *al = &t->ads[i];
        bd_peft_name(t, i, "lora_A.weight", name, sizeof name);
        worst = fmax(worst, tiny_cmp_tensor(st, name, grads ? al->dA : al->A, (size_t)al->r * al->in));
        bd_peft_name(t, i, "lora_B.weight", name, sizeof name);
        worst = fmax(worst, tiny_cmp_tensor(st, name, grads ? al->dB : al->B, (size_t)al->out * al->r));
        if (al->m) {
            bd_peft_name(t, i, "lora_magnitude_vector", name, sizeof name);
            worst = fmax(worst, tiny_cmp_tensor(st, name, grads ? al->dm : al->m, (size_t)al->out));
        }
    }
    return worst;
}

char *tiny_without_nul(const json_t *s) {
    size_t n = json_string_length(s);
    char *out = malloc(n + 1);
    assert_non_null(out);
    memcpy(out, json_string_value(s), n);
    for (size_t i = 0; i < n; i++)
        if (!out[i]) out[i] = '\x01';
    out[n] = '\0';
    return out;
}
