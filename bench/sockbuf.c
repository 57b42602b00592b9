/* sockbuf.c - raises the receive buffers of the bench's UDP sockets (see sockbuf.h). */
#include "bench/sockbuf.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

int bench_sockbuf_raise(int bytes)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -errno;
    int raised = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || end == e->d_name || fd == dirfd(d))
            continue;
        int type = 0, cur = 0;
        socklen_t len = sizeof(type);
        if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_DGRAM)
            continue;
        len = sizeof(cur);
        /* the kernel reports twice what was set (its bookkeeping share) */
        if (getsockopt((int)fd, SOL_SOCKET, SO_RCVBUF, &cur, &len) < 0 || cur / 2 >= bytes)
            continue;
        if (setsockopt((int)fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) == 0)
            raised++;
    }
    closedir(d);
    return raised;
}
