/* bidora: a terminal workbench for fine-tuning transformers with BiDoRA. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const char *const usage =
    "usage: bidora COMMAND [args]\n"
    "  (no command) | tui [-c FILE] [--ascii]    the workbench (terminal UI) on configs/default.ini\n"
    "  info DIR                                  describe a Hugging Face model directory\n"
    "  eval --model DIR --data CSV [--out FILE]  score a model on a CSV (metrics on stdout)\n"
    "  train [-c FILE] [key=value ...]           fine-tune headless (BiDoRA, DoRA, LoRA, full)\n"
    "  train --resume RUN_DIR                    continue a run from its checkpoint\n"
    "  attach [RUN]                              the workbench on a live run (the newest if no RUN)\n"
    "  ps [OUT_DIR]                              list the live runs (workbench, headless, detached)\n"
    "  stop | pause | resume | checkpoint RUN    control a live run from any terminal\n"
    "Run 'bidora COMMAND --help' for a command's options.\n";

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "tui")) return bd_cmd_tui(argc, argv);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "info")) return bd_cmd_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return bd_cmd_eval(argc - 1, argv + 1);
    if (!strcmp(argv[1], "train")) return bd_cmd_train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "attach")) return bd_cmd_attach(argc - 1, argv + 1);
    if (!strcmp(argv[1], "ps")) return bd_cmd_ps(argc - 1, argv + 1);
    if (!strcmp(argv[1], "stop") || !strcmp(argv[1], "pause") || !strcmp(argv[1], "resume") ||
        !strcmp(argv[1], "checkpoint"))
        return bd_cmd_control(argc - 1, argv + 1);
    fprintf(stderr, "bidora: unknown command \"%s\"\n%s", argv[1], usage);
    return 1;
}
