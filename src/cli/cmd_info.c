/* bidora info DIR: architecture, sizes, tensors found, parameter counts. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "model.h"
#include "safetensors.h"
#include "tokenizer.h"

int bd_cmd_info(int argc, char **argv) {
    if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(stderr, "usage: bidora info MODEL_DIR\n");
        return 1;
    }
    const char *dir = argv[1];
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
