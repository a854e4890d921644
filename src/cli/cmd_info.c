/* bidora info DIR: a model directory (architecture, sizes, tensors found,
 * parameter counts) or an adapter directory (PEFT's format). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "dataset.h"
#include "fmt.h"
#include "json.h"
#include "model.h"
#include "safetensors.h"
#include "tokenizer.h"
#include "trainable.h"

static const char *const info_usage =
    "usage: bidora info DIR\n"
    "  DIR: a Hugging Face model directory (architecture, sizes, tensors, parameter counts, tokenizer)\n"
    "       or an adapter directory (adapter_config.json: rank, alpha, targets, use_dora, base model,\n"
    "       trainable parameters counted from adapter_model.safetensors)\n";

/* A PEFT adapter directory (adapter_config.json + adapter_model.safetensors,
 * as bidora and PEFT's save_pretrained write them): its settings, and the
 * trainable parameters counted from the tensors themselves. */
static int adapter_info(const char *dir) {
    bd_err e = {{0}};
    bd_adapter_opts o;
    if (bd_peft_read_config(&o, dir, &e)) { bd_report(e.msg); return 1; }
    char cpath[4200], wpath[4200];
    snprintf(cpath, sizeof cpath, "%s/adapter_config.json", dir);
    snprintf(wpath, sizeof wpath, "%s/adapter_model.safetensors", dir);
    json_t *cfg = bd_json_load_file(cpath, 0, &e);
    if (!cfg) { bd_report(e.msg); return 1; }
    bd_st st = {0};
    if (access(wpath, F_OK)) {
        fprintf(stderr, "bidora: %s: missing: an adapter directory holds adapter_config.json and adapter_model.safetensors\n",
                wpath);
        json_decref(cfg);
        return 1;
    }
    if (bd_st_open(&st, wpath, &e)) { bd_report(e.msg); json_decref(cfg); return 1; }
    long long n_ab = 0, n_mag = 0, n_head = 0;
    int n_mod = 0, n_magv = 0, rc = 1, max_layer = -1;
    unsigned layers_seen[64] = {0};
    for (int i = 0; i < st.n_tensors; i++) {
        const bd_st_tensor *t = &st.tensors[i];
        const char *nm = t->name, *ly = strstr(nm, ".layer.");
        if (strstr(nm, "lora_A") || strstr(nm, "lora_B")) {
            int is_a = strstr(nm, "lora_A") != NULL;
            int64_t r = t->ndim == 2 ? t->shape[is_a ? 0 : 1] : -1;
            if (r != o.rank) {
                fprintf(stderr, "bidora: %s: tensor %s has rank %lld, adapter_config.json says r = %d\n", wpath, nm,
                        (long long)r, o.rank);
                goto out;
            }
            n_ab += t->numel;
            if (is_a) {
                n_mod++;
                int l = ly ? atoi(ly + 7) : -1;
                if (l >= 0 && l < 64 * 32) { layers_seen[l / 32] |= 1u << (l % 32); if (l > max_layer) max_layer = l; }
            }
        } else if (strstr(nm, "lora_magnitude_vector")) {
            n_mag += t->numel;
            n_magv++;
        } else {
            n_head += t->numel; /* modules_to_save: the classifier (and RoBERTa's dense) */
        }
    }
    if (!n_mod) {
        fprintf(stderr, "bidora: %s: no lora_A tensors: not a LoRA/DoRA adapter\n", wpath);
        goto out;
    }
    int dora = o.method == BD_METHOD_DORA;
    if (dora && n_magv != n_mod) {
        fprintf(stderr, "bidora: %s: use_dora is true but %d of %d adapted modules have a lora_magnitude_vector\n", wpath,
                n_magv, n_mod);
        goto out;
    }
    int n_layers = 0;
    for (int l = 0; l <= max_layer; l++) n_layers += (layers_seen[l / 32] >> (l % 32)) & 1;
    const char *base = json_string_value(json_object_get(cfg, "base_model_name_or_path"));
    printf("adapter      %s (PEFT %s)\n", dir, dora ? "DoRA, as bidora's dora and bidora write" : "LoRA");
    printf("base model   %s%s\n", base ? base : "(not named)",
           !base ? "" : access(base, F_OK) == 0 ? "" : " (not found here)");
    printf("rank         %d\nalpha        %g (scale %g%s)\n", o.rank, (double)o.alpha,
           o.rslora ? (double)o.alpha / sqrt((double)o.rank) : (double)o.alpha / o.rank, o.rslora ? ", rslora" : "");
    printf("dropout      %g\nuse_dora     %s\n", (double)o.dropout, dora ? "true" : "false");
    json_t *tm = json_object_get(cfg, "target_modules");
    printf("targets      ");
    if (json_is_array(tm)) {
        size_t k;
        json_t *v;
        json_array_foreach(tm, k, v) printf("%s%s", k ? ", " : "", json_string_value(v));
    } else {
        printf("%s", json_string_value(tm));
    }
    printf(" (%d %s in %d %s)\n", n_mod, bd_plural(n_mod, "module", "modules"), n_layers, bd_plural(n_layers, "layer", "layers"));
    printf("parameters   %lld trainable: lora_A + lora_B %lld, magnitudes %lld, head %lld\n", n_ab + n_mag + n_head, n_ab,
           n_mag, n_head);
    printf("tensors      %d in %s\n", st.n_tensors, wpath);
    bd_labels L;
    if (bd_labels_load(dir, &L, &e) == 0 && L.n) {
        printf("labels      ");
        for (int l = 0; l < L.n; l++) printf(" %d=%s", l, L.names[l]);
        printf("\n");
    }
    bd_labels_free(&L);
    rc = 0;
out:
    bd_st_close(&st);
    json_decref(cfg);
    return rc;
}

int bd_cmd_info(int argc, char **argv) {
    if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        int help = argc == 2;
        fputs(info_usage, help ? stdout : stderr);
        return help ? 0 : 1;
    }
    const char *dir = argv[1];
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/adapter_config.json", dir);
    if (access(probe, F_OK) == 0) return adapter_info(dir);
    bd_err e = {{0}};
    bd_bert m;
    if (bd_bert_load(&m, dir, 0, 0, &e)) { bd_report(e.msg); return 1; }
    const bd_bert_config *c = &m.cfg;
    bd_st st = {0};
    if (bd_st_open(&st, m.weights_path, &e)) { bd_report(e.msg); bd_bert_free(&m); return 1; }
    /* a model without vocab.txt is fine here; a vocabulary that does not load
     * (or does not fit the embeddings) is bad input, as in eval and train */
    char vocab[4200];
    /* any of the tokenizer files bd_tok_load reads (WordPiece, BPE, ESM, tokenizer.json) */
    static const char *const tok_files[] = {"tokenizer.json", "vocab.json", "vocab.txt"};
    int have_tok = 0;
    for (int k = 0; k < 3 && !have_tok; k++) {
        snprintf(vocab, sizeof vocab, "%s/%s", dir, tok_files[k]);
        have_tok = access(vocab, F_OK) == 0;
    }
    bd_tokenizer *tok = NULL;
    if (have_tok && !(tok = bd_tok_load(dir, &e))) {
        bd_report(e.msg);
        bd_st_close(&st);
        bd_bert_free(&m);
        return 1;
    }
    printf("model        %s\n", dir);
    printf("architecture %s encoder + sequence classification head\n", c->model_type);
    printf("layers       %d\nhidden       %d\nheads        %d (head dim %d)\n", c->n_layers, c->hidden,
           c->n_heads, c->hidden / c->n_heads);
    printf("intermediate %d\nvocab        %d\nmax_position %d\ntype_vocab   %d\n", c->intermediate,
           c->vocab_size, c->max_pos, c->type_vocab);
    static const char *const acts[] = {"gelu (erf)", "gelu (tanh)", "relu"};
    printf("activation   %s\nlayer_norm   eps %g\ndropout      hidden %g, attention %g\n", acts[c->act],
           (double)c->ln_eps, (double)c->hidden_dropout, (double)c->attn_dropout);
    printf("weights      %s (%d file%s, %d tensors)\n", m.weights_path, st.n_files, st.n_files == 1 ? "" : "s",
           st.n_tensors);
    int dtype_count[BD_DT_BOOL + 1] = {0};
    size_t bytes = 0;
    for (int i = 0; i < st.n_tensors; i++) { dtype_count[st.tensors[i].dtype]++; bytes += st.tensors[i].nbytes; }
    printf("dtypes      ");
    for (int d = 0; d <= BD_DT_BOOL; d++)
        if (dtype_count[d]) printf(" %s x%d", bd_dtype_name((bd_dtype)d), dtype_count[d]);
    printf(" (%.1f MiB)\n", bytes / 1048576.0);
    size_t enc = 0, head = 0, pl = strlen(c->prefix);
    for (int i = 0; i < m.n_params; i++) {
        if (!strncmp(m.params[i].name, c->prefix, pl) && m.params[i].name[pl] == '.') enc += m.params[i].numel;
        else head += m.params[i].numel;
    }
    const int roberta = c->family == BD_FAMILY_ROBERTA;
    printf("parameters   %zu (encoder%s %zu, classifier %zu)\n", m.total, roberta ? "" : "+pooler", enc, head);
    if (roberta)
        printf("positions    from padding_idx + 1 = %d: at most %d tokens a row\n", c->pos_offset,
               c->max_pos - c->pos_offset);
    printf("%s %s\n", roberta ? "head dense  " : "pooler      ",
           m.loaded_pooler ? "from the checkpoint" : "absent: freshly initialised");
    if (m.loaded_head) {
        printf("classifier   from the checkpoint, %d labels", c->num_labels);
        if (c->id2label) {
            printf(":");
            for (int l = 0; l < c->num_labels; l++) printf(" %d=%s", l, c->id2label[l]);
        }
        printf("\n");
    } else {
        printf("classifier   absent: sized from the dataset's labels when training or evaluating\n");
    }
    /* Tensors in the file that the model does not use (e.g. position_ids buffers). */
    int unused = 0;
    for (int i = 0; i < st.n_tensors; i++) {
        const char *nm = st.tensors[i].name;
        char full[160];
        snprintf(full, sizeof full, "%s.%s", c->prefix, nm);
        int used = bd_bert_find_param(&m, nm) || bd_bert_find_param(&m, full) || strstr(nm, ".gamma") ||
                   strstr(nm, ".beta");
        if (!used) {
            if (!unused++) printf("unused       ");
            printf("%s%s", unused > 1 ? ", " : "", nm);
        }
    }
    if (unused) printf("\n");
    {
        char dev[160];
        int usable = bd_backend_cuda_probe(dev, sizeof dev);
        printf("backends     cpu: %s; cuda: %s%s\n", bd_backend_cpu()->device, dev,
               usable ? " (backend = auto trains there)" : "");
    }
    if (tok) {
        printf("tokenizer    %s%s, %d tokens\n", bd_tok_kind_name(bd_tok_kind_of(tok)),
               bd_tok_is_fast(tok) ? " (tokenizer.json)" : "", bd_tok_vocab_size(tok));
        bd_tok_free(tok);
    } else {
        printf("tokenizer    none (no tokenizer.json, vocab.json or vocab.txt)\n");
    }
    bd_st_close(&st);
    bd_bert_free(&m);
    return 0;
}
