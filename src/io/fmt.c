/* fmt.c: plurals, rates and the closest key to a misspelt one. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fmt.h"

const char *bd_plural(long n, const char *one, const char *many) { return n == 1 || n == -1 ? one : many; }

char *bd_fmt_rate(char *buf, size_t n, double steps_per_s) {
    if (!isfinite(steps_per_s) || steps_per_s <= 0) snprintf(buf, n, "-");
    else if (steps_per_s >= 1) snprintf(buf, n, "%.2f steps/s", steps_per_s);
    else snprintf(buf, n, "%.1f s/step", 1.0 / steps_per_s);
    return buf;
}

#define MAXW 64

int bd_edit_distance(const char *a, const char *b, int limit) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > MAXW || lb > MAXW) return limit + 1; /* keys are short: a long word is no misspelling */
    if ((la > lb ? la - lb : lb - la) > (size_t)limit) return limit + 1;
    int d[MAXW + 1][MAXW + 1];
    for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            int cost = ca != cb;
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) && tolower((unsigned char)a[i - 2]) == cb &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1; /* two adjacent letters swapped */
            d[i][j] = v;
        }
    }
    return d[la][lb] > limit ? limit + 1 : d[la][lb];
}

const char *bd_closest(const char *word, const char *const *cands, int n) {
    size_t len = strlen(word);
    int limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    const char *best = NULL;
    int bestd = limit + 1;
    for (int i = 0; i < n; i++) {
        int d = bd_edit_distance(word, cands[i], limit);
        if (d < bestd && d < (int)strlen(cands[i])) { best = cands[i]; bestd = d; }
    }
    return best;
}

char *bd_fmt_duration(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 1e7) { snprintf(buf, n, "--:--"); return buf; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
    return buf;
}
