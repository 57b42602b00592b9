/* http_path.c - request path to web-root-relative file path (see http_path.h).
 *
 * The check works on the fully decoded path, segment by segment, so that no encoding of ".." (or of
 * "/" inside a segment) can climb out of the root. The server additionally checks with realpath()
 * that the opened file lies under the root (symlinks).
 */
#include "signaling/http_path.h"

#include <string.h>
#include <strings.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes src into dst (dstlen bytes). Returns 0, or an error. */
static int decode(const char *src, char *dst, size_t dstlen)
{
    size_t o = 0;
    for (size_t i = 0; src[i]; i++) {
        char c = src[i];
        if (c == '%') {
            int hi = hexval(src[i + 1]), lo = hi < 0 ? -1 : hexval(src[i + 2]);
            if (hi < 0 || lo < 0)
                return HTTP_PATH_E_FORBIDDEN;
            c = (char)(hi * 16 + lo);
            i += 2;
            if (c == '\0')
                return HTTP_PATH_E_FORBIDDEN;
        }
        if (o + 1 >= dstlen)
            return HTTP_PATH_E_TOO_LONG;
        dst[o++] = c;
    }
    dst[o] = '\0';
    return 0;
}

int http_path_resolve(const char *uri, char *out, size_t outlen)
{
    char path[1024];
    if (!uri || uri[0] != '/')
        return HTTP_PATH_E_FORBIDDEN;
    int rc = decode(uri, path, sizeof(path));
    if (rc < 0)
        return rc;
    if (strchr(path, '\\'))
        return HTTP_PATH_E_FORBIDDEN;
    /* Check every segment between slashes: path[0] is '/'. */
    size_t len = strlen(path);
    for (size_t start = 1; start < len;) {
        const char *seg = path + start;
        const char *slash = strchr(seg, '/');
        size_t seglen = slash ? (size_t)(slash - seg) : strlen(seg);
        if (seglen == 0 || seg[0] == '.')
            return HTTP_PATH_E_FORBIDDEN; /* "//", ".", "..", ".git" */
        start += seglen + 1;
    }
    const char *rel = path + 1;
    const char *index = (len == 1 || path[len - 1] == '/') ? "index.html" : "";
    size_t need = strlen(rel) + strlen(index) + 1;
    if (need > outlen)
        return HTTP_PATH_E_TOO_LONG;
    memcpy(out, rel, strlen(rel));
    memcpy(out + strlen(rel), index, strlen(index) + 1);
    return 0;
}

const char *http_mime_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".ico", "image/x-icon"},
        {".webmanifest", "application/manifest+json"},
        {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/')) {
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            if (!strcasecmp(dot, types[i].ext))
                return types[i].type;
        }
    }
    return "application/octet-stream";
}
