/* main.c - the videomeet server process: reads the configuration from the environment, starts the
 * signaling thread (and, with the media plane, the SFU workers), and stops everything cleanly on
 * SIGINT or SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/config.h"
#include "signaling/log.h"
#include "sfu/sfu.h"
#include "signaling/server.h"

#ifndef VM_DEFAULT_WEB_ROOT
#define VM_DEFAULT_WEB_ROOT "/usr/local/share/videomeet/web"
#endif

static const char *env_lookup(const char *name)
{
    return getenv(name);
}

int main(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: %s\nConfigured by environment variables; see README.md.\n", argv[0]);
        return 0;
    }
    vm_config cfg;
    char err[256];
    if (config_load(&cfg, env_lookup, VM_DEFAULT_WEB_ROOT, err, sizeof(err)) < 0) {
        fprintf(stderr, "videomeet: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    vm_log_set_level((vm_log_level)cfg.log_level);

    /* Block the signals in every thread; this thread waits for them with sigwait. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    vm_signaling *sig = signaling_new(&cfg);
    sfu *media = sig ? sfu_new(&cfg, signaling_sfu_event, sig) : NULL;
    if (!media || signaling_start(sig, media) < 0) {
        sfu_free(media);
        signaling_free(sig);
        config_free(&cfg);
        return 1;
    }
    LOG_I("videomeet ready on http://localhost:%d", cfg.port);
    int signo = 0;
    sigwait(&set, &signo);
    LOG_I("signal %d: shutting down", signo);
    signaling_stop(sig);   /* closes every connection: they leave their meetings */
    sfu_free(media);       /* closes the rooms, stops the workers */
    signaling_free(sig);
    config_free(&cfg);
    return 0;
}
