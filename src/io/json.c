/* json.c: jansson's loader, with integers beyond 64 bits read as reals.
 * A scan over the text outside strings finds the integer literals that
 * overflow json_int_t; when there are any, a copy with ".0" appended to each
 * goes to json_loadb (jansson then reads them with strtod), and an error's
 * position and column are mapped back to the original text. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* nd digits d of an integer literal (negative if neg): beyond int64? */
static int overflows(const char *d, size_t nd, int neg) {
    if (nd != 19) return nd > 19;
    return memcmp(d, neg ? "9223372036854775808" : "9223372036854775807", 19) > 0;
}

static int number_char(char c) {
    return is_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
}

/* Offsets just past each overflowing integer literal of s into ends (when
 * not NULL); returns how many there are. Invalid text is scanned all the
 * same: jansson reports it. */
static size_t scan(const char *s, size_t n, size_t *ends) {
    size_t k = 0, i = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') { /* skip the string, escapes included */
            for (i++; i < n && s[i] != '"'; i++)
                if (s[i] == '\\') i++;
            i++;
            continue;
        }
        if (c != '-' && !is_digit(c)) { i++; continue; }
        size_t d = i + (c == '-'), j = d;
        while (j < n && is_digit(s[j])) j++;
        int real = j < n && (s[j] == '.' || s[j] == 'e' || s[j] == 'E');
        if (!real && overflows(s + d, j - d, c == '-')) {
            if (ends) ends[k] = j;
            k++;
        }
        while (j < n && number_char(s[j])) j++;
        i = j > i ? j : i + 1;
    }
    return k;
}

const char *bd_printable(char *buf, size_t n, const char *s) {
    size_t k = 0, mark = 0; /* mark: the longest prefix that still leaves room for "..." */
    if (n == 0) return buf;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '\n') strcpy(esc, "\\n");
        else if (c == '\t') strcpy(esc, "\\t");
        else if (c == '\r') strcpy(esc, "\\r");
        else if (c < 0x20 || c == 0x7f) snprintf(esc, sizeof esc, "\\x%02x", c);
        else { esc[0] = (char)c; esc[1] = '\0'; }
        size_t el = strlen(esc);
        if (k + el + 1 > n) { /* the rest does not fit */
            if (n >= 4) memcpy(buf + mark, "...", 4);
            else buf[0] = '\0';
            return buf;
        }
        memcpy(buf + k, esc, el);
        k += el;
        /* cut only between characters, never inside a UTF-8 sequence */
        if (k + 4 <= n && ((unsigned char)s[1] & 0xC0) != 0x80) mark = k;
    }
    buf[k] = '\0';
    return buf;
}

/* jansson's message quotes the text near the error: keep it on one line. */
static void one_line(json_error_t *err) {
    char text[JSON_ERROR_TEXT_LENGTH];
    memcpy(text, err->text, sizeof text);
    text[sizeof text - 1] = '\0';
    bd_printable(err->text, sizeof err->text, text);
}

static json_t *loadb(const char *buf, size_t len, size_t flags, json_error_t *err) {
    json_t *root = json_loadb(buf, len, flags, err);
    if (!root && err) one_line(err);
    return root;
}

json_t *bd_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err) {
    size_t k = scan(buf, len, NULL);
    if (k == 0) return loadb(buf, len, flags, err);
    size_t *ends = malloc(k * sizeof *ends);
    char *copy = malloc(len + 2 * k + 1);
    if (!ends || !copy) {
        free(ends);
        free(copy);
        if (err) {
            memset(err, 0, sizeof *err);
            snprintf(err->text, sizeof err->text, "out of memory (%zu bytes)", len + 2 * k + 1);
        }
        return NULL;
    }
    scan(buf, len, ends);
    /* ends[] become the offsets of each ".0" in the copy */
    size_t from = 0, to = 0;
    for (size_t i = 0; i < k; i++) {
        memcpy(copy + to, buf + from, ends[i] - from);
        to += ends[i] - from;
        from = ends[i];
        ends[i] = to;
        memcpy(copy + to, ".0", 2);
        to += 2;
    }
    memcpy(copy + to, buf + from, len - from);
    to += len - from;
    copy[to] = '\0';
    json_error_t je;
    json_t *root = loadb(copy, to, flags, &je);
    if (!root && err) {
        /* back to the original's terms: take out the ".0"s before the error
         * (and those on its line, for the column; no newline was added) */
        size_t pos = je.position > 0 ? (size_t)je.position : 0, line = pos < to ? pos : to;
        while (line > 0 && copy[line - 1] != '\n') line--;
        int drop = 0, col = 0;
        for (size_t i = 0; i < k && ends[i] < pos; i++) {
            int d = pos - ends[i] < 2 ? (int)(pos - ends[i]) : 2;
            drop += d;
            if (ends[i] >= line) col += d;
        }
        je.position -= drop;
        if (je.column > col) je.column -= col;
        *err = je;
    }
    free(copy);
    free(ends);
    return root;
}

json_t *bd_json_load_file(const char *path, size_t flags, bd_err *e) {
    size_t len = 0;
    char *buf = bd_read_file(path, &len, e);
    if (!buf) return NULL;
    json_error_t je;
    json_t *root = bd_json_loadb(buf, len, flags, &je);
    free(buf);
    if (!root) bd_errf(e, "%s:%d:%d: invalid JSON: %s", path, je.line, je.column, je.text);
    return root;
}
