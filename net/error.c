/* Errors as values: one message per thread, "<subject>: <reason>".
 * Only cli/ prints it; everything else records it and returns ST_ERROR. */
#include "net/net.h"

#include <stdio.h>
#include <string.h>

volatile sig_atomic_t interrupt_signal = 0;

enum { ERROR_CAPACITY = 1024 };
static _Thread_local char error_text[ERROR_CAPACITY];

status error_setv(const char *subject, const char *fmt, va_list ap)
{
    /* The reason is formatted first: fmt's arguments may point into
     * error_text itself (error_prefix). Long messages are truncated. */
    char reason[ERROR_CAPACITY];
    vsnprintf(reason, sizeof reason, fmt, ap);
    size_t used = 0;
    if (subject && *subject) {
        int n = snprintf(error_text, sizeof error_text, "%s: ", subject);
        used = n < 0 ? 0 : (size_t)n < sizeof error_text ? (size_t)n : sizeof error_text - 1;
    }
    size_t room = sizeof error_text - used, len = strlen(reason);
    if (len >= room)
        len = room - 1;
    memcpy(error_text + used, reason, len);
    error_text[used + len] = '\0';
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
