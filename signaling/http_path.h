/* http_path.h - mapping request paths to files of the web root, and Content-Types. Pure. */
#ifndef VM_HTTP_PATH_H
#define VM_HTTP_PATH_H

#include <stddef.h>

enum {
    HTTP_PATH_E_FORBIDDEN = -1, /* escapes the root, hidden file, bad encoding, NUL, backslash */
    HTTP_PATH_E_TOO_LONG = -2,
};

/* Turns the path part of a request URI (no query string; it may still hold %-escapes) into a path
 * relative to the web root, written to out: "/" -> "index.html", "/js/app.js" -> "js/app.js",
 * "/dir/" -> "dir/index.html". Segments "." and "..", empty segments, segments starting with '.',
 * backslashes, NUL and malformed %-escapes are refused. Returns 0 or an HTTP_PATH_E_* code. */
int http_path_resolve(const char *uri, char *out, size_t outlen);

/* The Content-Type for a file name, by extension; "application/octet-stream" when unknown. */
const char *http_mime_type(const char *path);

#endif
