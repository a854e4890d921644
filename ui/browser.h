/* browser.h: the set-up view's file browser model (no curses): a
 * directory listing filtered for what is being picked (model directories,
 * i.e. directories holding config.json; CSV files; .ini files; plain
 * directories), with relative paths kept relative; and the CSV header
 * reader behind the column picker. */
#ifndef BD_BROWSER_H
#define BD_BROWSER_H

#include <stddef.h>
#include "err.h"

typedef enum bd_browse_mode { BD_BROWSE_MODEL, BD_BROWSE_CSV, BD_BROWSE_INI, BD_BROWSE_DIR } bd_browse_mode;

typedef struct bd_entry {
    char name[256];
    int is_dir, is_model;    /* is_model: a directory holding config.json */
} bd_entry;

typedef struct bd_browser {
    bd_browse_mode mode;
    char dir[4096];
    bd_entry *e;
    int n, sel, top;
} bd_browser;

/* List the directory holding start (a file or a model directory; start
 * itself when it is another directory; "." when it is empty or gone).
 * ".." comes first; in BD_BROWSE_DIR mode "." next, standing for the
 * listed directory itself. */
int bd_browser_open(bd_browser *b, bd_browse_mode mode, const char *start, bd_err *e);
/* Re-list b->dir. */
int bd_browser_list(bd_browser *b, bd_err *e);
void bd_browser_free(bd_browser *b);
/* Join dir and name ("." + "x" = "x", "a/b" + ".." = "a"). */
void bd_path_join(char *out, size_t n, const char *dir, const char *name);
/* Enter directory entry i (".." goes up). -1 when i is not a directory. */
int bd_browser_enter(bd_browser *b, int i, bd_err *e);
/* 1 when dir holds config.json. */
int bd_is_model_dir(const char *dir);

/* The column names of a CSV's header row (quoted fields allowed). */
#define BD_MAX_COLS 64
int bd_csv_header(const char *path, char (*cols)[128], int cap, int *n, bd_err *e);

#endif
