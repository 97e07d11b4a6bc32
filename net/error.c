/* Errors as values: one message per thread, "<subject>: <reason>".
 * Only cli/ prints it; everything else records it and returns ST_ERROR. */
#include "net/net.h"

#include <stdio.h>
#include <string.h>

volatile sig_atomic_t interrupt_signal = 0;

enum { ERROR_CAPACITY = 1024 };
static _Thread_local char error_text[ERROR_CAPACITY];

/* Copies `s` to dst[used...], control characters escaped ("\n", "\xNN"):
 * names from files (an ONNX node name, a path) may hold any byte, and a
 * message is always one line. Stops at the capacity; returns the new length. */
static size_t append_escaped(char *dst, size_t used, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[4] = {(char)c};
        size_t n = 1;
        if (c == '\n' || c == '\t' || c == '\r') {
            esc[0] = '\\', esc[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r', n = 2;
        } else if (c < 0x20 || c == 0x7f) {
            esc[0] = '\\', esc[1] = 'x', esc[2] = hex[c >> 4], esc[3] = hex[c & 15], n = 4;
        }
        if (used + n >= ERROR_CAPACITY)
            break;
        memcpy(dst + used, esc, n);
        used += n;
    }
    dst[used] = '\0';
    return used;
}

status error_setv(const char *subject, const char *fmt, va_list ap)
{
    /* The reason is formatted first: fmt's arguments may point into
     * error_text itself (error_prefix). Long messages are truncated. */
    char reason[ERROR_CAPACITY];
    vsnprintf(reason, sizeof reason, fmt, ap);
    char subj[ERROR_CAPACITY]; /* likewise for the subject */
    snprintf(subj, sizeof subj, "%s", subject ? subject : "");
    size_t used = 0;
    error_text[0] = '\0';
    if (*subj) {
        used = append_escaped(error_text, 0, subj);
        if (used + 2 < ERROR_CAPACITY)
            used = append_escaped(error_text, used, ": ");
    }
    append_escaped(error_text, used, reason);
    return ST_ERROR;
}

status error_set(const char *subject, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(subject, fmt, ap);
    va_end(ap);
    return ST_ERROR;
}

status error_prefix(const char *subject)
{
    char old[ERROR_CAPACITY];
    memcpy(old, error_text, sizeof old);
    return error_set(subject, "%s", old[0] ? old : "failed");
}

const char *error_message(void) { return error_text; }

void error_clear(void) { error_text[0] = '\0'; }
