/* json.h: reading JSON with jansson, accepting every number a valid file
 * holds. jansson refuses integers beyond 64 bits ("too big integer"), yet
 * Python writes them: transformers' tokenizer_config.json has
 * "model_max_length": 1000000000000000019884624838656 (int(1e30)) for a
 * tokenizer without a length limit. Here such integers parse as reals (the
 * nearest double); integers that fit stay integers, so a file re-written
 * after loading keeps "vocab_size": 30522, not 30522.0. */
#ifndef BD_JSON_H
#define BD_JSON_H

#include <stddef.h>
#include <jansson.h>
#include "err.h"

/* json_loadb with that one difference; flags and *err (may be NULL) as
 * jansson's, with err's line, column and position in buf's own terms. */
json_t *bd_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err);

/* Read and parse a whole file. NULL on failure with "PATH: cannot open: ..."
 * or "PATH:LINE:COLUMN: invalid JSON: WHAT" in e. */
json_t *bd_json_load_file(const char *path, size_t flags, bd_err *e);

/* s made fit to quote in a one-line message: control characters as \n, \t,
 * \r or \xHH, cut with "..." to fit buf[n]. Returns buf. */
const char *bd_printable(char *buf, size_t n, const char *s);

#endif
