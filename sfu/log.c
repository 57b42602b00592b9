/* log.c - see log.h. The level is read without a lock: it is set once at start. */
#include "sfu/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static vm_log_level current = VM_LOG_INFO;

void vm_log_set_level(vm_log_level level)
{
    current = level;
}

int vm_log_enabled(vm_log_level level)
{
    return level <= current;
}

int vm_log_parse_level(const char *s)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (!strcmp(s, names[i]))
            return i;
    }
    return -1;
}

void vm_log(vm_log_level level, const char *fmt, ...)
{
    if (level > current)
        return;
    static const char tags[] = "EWID";
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %c ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                     tags[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
