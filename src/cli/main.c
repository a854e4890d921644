/* bidora: a terminal workbench for fine-tuning transformers with BiDoRA. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "parallel.h"

int main(int argc, char **argv) {
    bd_blas_env(); /* OpenBLAS on one thread: bidora's own pool splits the products */
    if (argc < 2) return bd_cmd_tui(argc, argv);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        bd_cli_usage(stdout);
        return 0;
    }
    const bd_cli_cmd *c = bd_cli_find(argv[1]);
    if (c) return c->run == bd_cmd_tui ? bd_cmd_tui(argc, argv) : c->run(argc - 1, argv + 1);
    fprintf(stderr, "bidora: unknown command \"%s\" (bidora --help lists them)\n", argv[1]);
    return 1;
}
