/* turnd.c - the embedded TURN server: coturn's configuration, its process and its supervisor thread
 * (see turnd.h). */
#include "signaling/turnd.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sfu/log.h"

/* ---- the configuration (pure) ---- */

static bool is_loopback(const char *ip)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, ip, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, ip, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

char *turnd_conf_text(const turnd_settings *s)
{
    GString *o = g_string_new("# Written by videomeet for its embedded TURN server (signaling/turnd.c).\n");
    if (s->listen_ip && *s->listen_ip)
        g_string_append_printf(o, "listening-ip=%s\n", s->listen_ip);
    g_string_append_printf(o, "listening-port=%d\n", s->port);
    if (s->cert && *s->cert)
        g_string_append_printf(o, "tls-listening-port=%d\ncert=%s\npkey=%s\n", s->tls_port, s->cert, s->key);
    else
        g_string_append(o, "no-tls\n");
    /* Browsers come over TCP; one whose UDP works needs no relay. */
    g_string_append(o, "no-udp\nno-dtls\nno-tcp-relay\n");
    /* Relay from and to the SFU only. */
    bool loopback = false;
    for (size_t i = 0; i < s->ip_count; i++) {
        g_string_append_printf(o, "relay-ip=%s\nallowed-peer-ip=%s\n", s->ips[i], s->ips[i]);
        loopback = loopback || is_loopback(s->ips[i]);
    }
    if (s->announced_ip && *s->announced_ip)
        g_string_append_printf(o, "allowed-peer-ip=%s\n", s->announced_ip);
    g_string_append(o, "denied-peer-ip=0.0.0.0-255.255.255.255\n"
                       "denied-peer-ip=::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n"
                       "no-multicast-peers\n");
    if (loopback)
        g_string_append(o, "allow-loopback-peers\n");
    g_string_append_printf(o, "use-auth-secret\nstatic-auth-secret=%s\nrealm=videomeet\nfingerprint\n", s->secret);
    g_string_append(o, "no-cli\nno-rfc5780\nno-stun-backward-compatibility\nno-software-attribute\n"
                       "log-file=stdout\nsimple-log\n");
    g_string_append_printf(o, "pidfile=%s/turnserver.pid\nuserdb=%s/turndb\n", s->dir, s->dir);
    return g_string_free(o, FALSE);
}

/* ---- the process ---- */

struct turnd {
    char dir[PATH_MAX];
    char conf[PATH_MAX + 16];
    char *bin;          /* turnserver's path; owned */
    int port;
    int wake[2];        /* a byte written to wake[1] asks the supervisor to stop */
    pthread_t thread;
};

/* The machine's non-loopback addresses (the ones libnice gathers on when RTC_IPS is empty). */
static void local_addresses(turnd_settings *s)
{
    struct ifaddrs *list = NULL;
    if (getifaddrs(&list) < 0)
        return;
    for (struct ifaddrs *i = list; i && s->ip_count < TURND_MAX_IPS; i = i->ifa_next) {
        if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
            continue;
        const void *a;
        if (i->ifa_addr->sa_family == AF_INET) {
            a = &((struct sockaddr_in *)i->ifa_addr)->sin_addr;
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const struct in6_addr *a6 = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
            if (IN6_IS_ADDR_LINKLOCAL(a6))
                continue;
            a = a6;
        } else {
            continue;
        }
        if (inet_ntop(i->ifa_addr->sa_family, a, s->ips[s->ip_count], sizeof(s->ips[0])))
            s->ip_count++;
    }
    freeifaddrs(list);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                char p[PATH_MAX + 260];
                snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
                unlink(p);
            }
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Forks coturn with its stdout and stderr on a pipe; returns its pid and the pipe's read end, or -1. */
static pid_t spawn(turnd *t, int *out)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    char *argv[] = {t->bin, "-c", t->conf, NULL};
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* The child of a threaded process: async-signal-safe calls only, until execv. */
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* the supervisor thread's end (the server killed) ends coturn */
        if (getppid() != parent)
            _exit(1);
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
            _exit(126);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL); /* main.c blocks SIGTERM in every thread */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGPIPE, &dfl, NULL);
        if (close_range(3, ~0U, 0) < 0) {
            for (int fd = 3; fd < 4096; fd++)
                close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    *out = p[0];
    return pid;
}

/* Logs coturn's complete lines in buf[0..*len) and keeps the unfinished one. */
static void log_lines(char *buf, size_t *len, bool flush)
{
    size_t start = 0;
    for (size_t i = 0; i < *len; i++) {
        if (buf[i] != '\n' && !(flush && i + 1 == *len))
            continue;
        size_t end = buf[i] == '\n' ? i : i + 1;
        if (end > start) {
            char *line = g_strndup(buf + start, end - start);
            if (strstr(line, "ERROR") || strstr(line, "error"))
                LOG_W("turn: %s", line);
            else
                LOG_D("turn: %s", line);
            g_free(line);
        }
        start = i + 1;
    }
    memmove(buf, buf + start, *len - start);
    *len -= start;
}

/* Reads coturn's output (fd, or nothing when fd < 0) until it closes (returns 0), a stop is asked
 * and `stoppable` (1) or timeout_ms passes (2; -1 = no timeout). */
static int pump(turnd *t, int fd, int timeout_ms, bool stoppable)
{
    char buf[4096];
    size_t len = 0;
    int64_t deadline = g_get_monotonic_time() / 1000 + timeout_ms;
    for (;;) {
        struct pollfd pf[2];
        nfds_t n = 0;
        if (fd >= 0)
            pf[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
        if (stoppable)
            pf[n++] = (struct pollfd){.fd = t->wake[0], .events = POLLIN};
        int wait = timeout_ms < 0 ? -1 : (int)MAX(0, deadline - g_get_monotonic_time() / 1000);
        int r = poll(pf, n, wait);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 2;
        if (stoppable && pf[n - 1].revents)
            return 1;
        ssize_t got = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (got <= 0) {
            log_lines(buf, &len, true);
            return 0;
        }
        len += (size_t)got;
        log_lines(buf, &len, len == sizeof(buf) - 1);
    }
}

static void *supervise(void *arg)
{
    turnd *t = arg;
    int backoff_ms = 1000;
    for (;;) {
        int fd = -1;
        pid_t pid = spawn(t, &fd);
        int64_t started = g_get_monotonic_time();
        if (pid < 0) {
            LOG_W("turn: cannot start %s: %s", t->bin, strerror(errno));
        } else {
            LOG_I("turn: coturn (pid %d) serving TURN on TCP port %d", (int)pid, t->port);
            if (pump(t, fd, -1, true) == 1) { /* stop */
                kill(pid, SIGTERM);
                if (pump(t, fd, 5000, false) == 2)
                    kill(pid, SIGKILL);
                close(fd);
                waitpid(pid, NULL, 0);
                return NULL;
            }
            close(fd);
            int status = 0;
            waitpid(pid, &status, 0);
            if (WIFSIGNALED(status))
                LOG_W("turn: coturn ended by signal %d", WTERMSIG(status));
            else
                LOG_W("turn: coturn exited with status %d", WEXITSTATUS(status));
        }
        if (g_get_monotonic_time() - started > 60 * G_USEC_PER_SEC)
            backoff_ms = 1000;
        LOG_W("turn: starting coturn again in %d s", backoff_ms / 1000);
        if (pump(t, -1, backoff_ms, true) == 1)
            return NULL;
        backoff_ms = MIN(backoff_ms * 2, 30000);
    }
}

static int write_conf(turnd *t, const vm_config *cfg)
{
    turnd_settings s;
    memset(&s, 0, sizeof(s));
    s.listen_ip = cfg->bind_address;
    s.port = cfg->turn_port;
    s.tls_port = cfg->turn_tls_port;
    s.cert = cfg->turn_tls_cert;
    s.key = cfg->turn_tls_key;
    s.secret = cfg->turn_secret;
    for (size_t i = 0; i < cfg->rtc_ip_count && i < TURND_MAX_IPS; i++)
        g_strlcpy(s.ips[s.ip_count++], cfg->rtc_ips[i], sizeof(s.ips[0]));
    if (!s.ip_count)
        local_addresses(&s);
    if (!s.ip_count)
        LOG_W("turn: no media address found: coturn will relay to nobody");
    s.announced_ip = cfg->announced_ip;
    s.dir = t->dir;
    char *text = turnd_conf_text(&s);
    int fd = open(t->conf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    size_t len = strlen(text);
    int rc = fd >= 0 && write(fd, text, len) == (ssize_t)len ? 0 : -1;
    if (fd >= 0)
        close(fd);
    g_free(text);
    return rc;
}

turnd *turnd_start(const vm_config *cfg)
{
    turnd *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->wake[0] = t->wake[1] = -1;
    t->port = cfg->turn_port;
    t->bin = g_find_program_in_path("turnserver");
    if (!t->bin) {
        LOG_E("TURN_PORT is %d but coturn's turnserver is not installed (Debian package coturn)", cfg->turn_port);
        free(t);
        return NULL;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(t->dir, sizeof(t->dir), "%s/videomeet-turn-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(t->dir)) {
        LOG_E("turn: cannot make a directory in %s: %s", tmp && *tmp ? tmp : "/tmp", strerror(errno));
        g_free(t->bin);
        free(t);
        return NULL;
    }
    snprintf(t->conf, sizeof(t->conf), "%s/turnserver.conf", t->dir);
    if (write_conf(t, cfg) < 0 || pipe2(t->wake, O_CLOEXEC) < 0 ||
        pthread_create(&t->thread, NULL, supervise, t) != 0) {
        LOG_E("turn: cannot start: %s", strerror(errno));
        if (t->wake[0] >= 0) {
            close(t->wake[0]);
            close(t->wake[1]);
        }
        remove_dir(t->dir);
        g_free(t->bin);
        free(t);
        return NULL;
    }
    return t;
}

void turnd_free(turnd *t)
{
    if (!t)
        return;
    if (write(t->wake[1], "x", 1) != 1)
        LOG_W("turn: cannot wake the supervisor: %s", strerror(errno));
    pthread_join(t->thread, NULL);
    close(t->wake[0]);
    close(t->wake[1]);
    remove_dir(t->dir);
    g_free(t->bin);
    free(t);
}
