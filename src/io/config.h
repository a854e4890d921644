/* config.h: the run configuration. INI files with flat keys (no sections
 * needed), every key also settable as key=value on the command line; a
 * table of keys with types, defaults and allowed values drives parsing,
 * validation, --help and the resolved config.ini a run writes. */
#ifndef BD_CONFIG_H
#define BD_CONFIG_H

#include <stdint.h>
#include <stdio.h>
#include "err.h"

#define BD_STR 4096

typedef struct bd_config {
    char model[BD_STR], data[BD_STR], val_data[BD_STR], eval_data[BD_STR];
    char text_column[256], text_pair_column[256], label_column[256];
    int task;                  /* bd_task */
    double split[3];           /* train, val, eval fractions */
    long seed;
    int method;                /* bd_method */
    int rank;
    double alpha, dropout;
    int rslora;
    char target_modules[512];
    int optimizer;             /* bd_optim_kind */
    double adam_beta1, adam_beta2, adam_eps;
    double lr, upper_lr, weight_decay, upper_weight_decay, max_grad_norm;
    int batch_size, max_length;
    long max_steps;
    double epochs;
    double warmup;             /* fraction of the steps */
    int schedule;              /* bd_schedule */
    double orth_lambda;
    int dora_norm_grad;        /* 0 exact, 1 detached */
    int hypergrad;             /* 0 darts2, 1 darts1 */
    double darts_alpha, hyper_xi;
    int upper_every;
    int val_batch_size;        /* rows of b_v (0 -> batch_size after finish) */
    int hyper_batch_size;      /* rows of b_t in the +-eps passes (0 -> batch_size) */
    long retrain_steps;
    double retrain_lr;
    long eval_every, checkpoint_every;
    char init_adapter[BD_STR];
    int backend;               /* 0 auto, 1 cpu, 2 cuda */
    int tf32;                  /* 0 off, 1 on (CUDA matrix products on TF32 tensor cores) */
    int on_hangup;             /* 0 detach (train on headless), 1 stop (checkpoint and stop) */
    char out_dir[BD_STR], run_name[256];
} bd_config;

/* Defaults (the official BiDoRA code's where it has one). */
void bd_config_defaults(bd_config *c);
/* Set one key from its text (trimmed); errors name the key and the allowed
 * values. A value longer than its field is refused, as are control
 * characters in strings and a run_name with '/' or a leading '.'. */
int bd_config_set(bd_config *c, const char *key, const char *value, bd_err *e);
/* Read an INI file: "key = value" lines of any length, '#' or ';' comment
 * lines, blank lines, [sections] (ignored); leading blanks are not a
 * continuation. A key given twice, an unknown key or a bad value is refused
 * with FILE:LINE; on error *c is unchanged. */
int bd_config_load(bd_config *c, const char *path, bd_err *e);
/* The same from an open stream (read to EOF, not closed); path names it in messages. */
int bd_config_read(bd_config *c, FILE *f, const char *path, bd_err *e);
/* Cross-key checks (e.g. split sums to 1, upper_lr default = lr). */
int bd_config_finish(bd_config *c, bd_err *e);
/* Write every key as "key = value" (the resolved config); numbers are
 * written so that they read back exactly. */
void bd_config_write(const bd_config *c, FILE *f);
/* One line per key: name, default, allowed values, meaning. */
void bd_config_help(FILE *f);
/* The key name is probably a misspelling of (closest by edit distance, also
 * through names other trainers use, e.g. learning_rate -> lr), or NULL. */
const char *bd_config_closest_key(const char *name);
/* The textual value of key (for display), or NULL if unknown. */
int bd_config_get(const bd_config *c, const char *key, char *buf, size_t n);

extern const char *const bd_method_names[4];

/* The key table, for forms that list every key (the TUI's set-up view). */
typedef enum bd_key_kind { BD_KEY_STR, BD_KEY_INT, BD_KEY_LONG, BD_KEY_REAL, BD_KEY_ENUM, BD_KEY_BOOL, BD_KEY_SPLIT } bd_key_kind;
typedef struct bd_config_key_info {
    const char *name, *dflt, *allowed, *help; /* allowed: "a|b|c" (enums), "lo..hi" (numbers) or NULL */
    bd_key_kind kind;
} bd_config_key_info;
int bd_config_n_keys(void);
void bd_config_key(int i, bd_config_key_info *out);

#endif
