/* log.h - leveled logging to stderr, safe from any thread (one fprintf per line). Used by the media
 * plane and by signaling (which sits on top of it); protocol code does not log. */
#ifndef VM_LOG_H
#define VM_LOG_H

typedef enum { VM_LOG_ERROR = 0, VM_LOG_WARN, VM_LOG_INFO, VM_LOG_DEBUG } vm_log_level;

void vm_log_set_level(vm_log_level level);
/* Whether a message of this level would be written (to skip building one that would not). */
int vm_log_enabled(vm_log_level level);
/* Parses "error", "warn", "info", "debug"; returns -1 for anything else. */
int vm_log_parse_level(const char *s);
void vm_log(vm_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_E(...) vm_log(VM_LOG_ERROR, __VA_ARGS__)
#define LOG_W(...) vm_log(VM_LOG_WARN, __VA_ARGS__)
#define LOG_I(...) vm_log(VM_LOG_INFO, __VA_ARGS__)
#define LOG_D(...) vm_log(VM_LOG_DEBUG, __VA_ARGS__)

#endif
