/* fmt.h: small text formats that the command line and the workbench share,
 * so that a count or a rate reads the same everywhere. */
#ifndef BD_FMT_H
#define BD_FMT_H

#include <stddef.h>

/* one when n is 1 (or -1), else many: "1 run", "2 runs", "0 runs". */
const char *bd_plural(long n, const char *one, const char *many);

/* A training rate: "12.34 steps/s" at 1 step a second or more, "3.2 s/step"
 * below (a slow run's steps/s would read 0.31), "-" when there is none yet
 * (not finite, or not positive). Returns buf. */
char *bd_fmt_rate(char *buf, size_t n, double steps_per_s);

/* A duration as M:SS or H:MM:SS, "--:--" when unknown (negative, NaN, or more
 * than 10^7 s). Returns buf. */
char *bd_fmt_duration(char *buf, size_t n, double s);

/* The optimal string alignment (Damerau-Levenshtein with adjacent
 * transpositions) distance between a and b, ASCII case folded; at most
 * limit + 1 (it stops counting there). */
int bd_edit_distance(const char *a, const char *b, int limit);

/* The candidate closest to word when it is close enough to be a misspelling
 * of it (a distance of 1 for words of up to 4 letters, 2 up to 8, else 3, and
 * less than the candidate's own length), else NULL. The first of equals wins. */
const char *bd_closest(const char *word, const char *const *cands, int n);

#endif
