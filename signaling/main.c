/* main.c - the videomeet server process: reads the configuration from the environment, starts the
 * signaling thread (and, with the media plane, the SFU workers), and stops everything cleanly on
 * SIGINT or SIGTERM; SIGUSR1 drains the node (README, "Draining a node").
 */
#include <glib.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "signaling/config.h"
#include "signaling/ids.h"
#include "signaling/turnd.h"
#include "sfu/log.h"
#include "sfu/netloop.h"
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
    sigaddset(&set, SIGUSR1); /* drain (README, "Draining a node") */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    sfu_config media_cfg;
    memset(&media_cfg, 0, sizeof(media_cfg));
    for (size_t i = 0; i < cfg.rtc_ip_count && i < SFU_MAX_IPS; i++)
        g_strlcpy(media_cfg.rtc_ips[i], cfg.rtc_ips[i], sizeof(media_cfg.rtc_ips[i]));
    media_cfg.rtc_ip_count = cfg.rtc_ip_count < SFU_MAX_IPS ? cfg.rtc_ip_count : SFU_MAX_IPS;
    g_strlcpy(media_cfg.announced_ip, cfg.announced_ip, sizeof(media_cfg.announced_ip));
    media_cfg.rtc_min_port = cfg.rtc_min_port;
    media_cfg.rtc_max_port = cfg.rtc_max_port;
    media_cfg.workers = cfg.workers;
    netloop_set_io_uring(cfg.io_uring != 0); /* before the workers make their loops */

    /* The embedded TURN server: the secret its credentials are minted with is drawn here when none is
     * given (one process mints and checks them, so it need not be known elsewhere). */
    turnd *turn = NULL;
    if (cfg.turn_port) {
        if (!cfg.turn_secret[0] && ids_random(cfg.turn_secret, 40) < 0) {
            fprintf(stderr, "videomeet: cannot draw a TURN secret\n");
            config_free(&cfg);
            return 1;
        }
        turn = turnd_start(&cfg);
        if (!turn) {
            config_free(&cfg);
            return 1;
        }
    }
    vm_signaling *sig = signaling_new(&cfg);
    sfu *media = sig ? sfu_new(&media_cfg, signaling_sfu_event, sig) : NULL;
    if (!media || signaling_start(sig, media) < 0) {
        sfu_free(media);
        signaling_free(sig);
        turnd_free(turn);
        config_free(&cfg);
        return 1;
    }
    bool v6 = cfg.bind_family == AF_INET6;
    LOG_I("videomeet ready on http://%s%s%s:%d", v6 ? "[" : "", cfg.bind_family ? cfg.bind_address : "localhost",
          v6 ? "]" : "", cfg.port);
    int signo = 0;
    while (sigwait(&set, &signo) == 0 && signo == SIGUSR1) {
        LOG_I("signal %d: draining", signo);
        signaling_drain(sig);
    }
    LOG_I("signal %d: shutting down", signo);
    signaling_stop(sig);   /* closes every connection: they leave their meetings */
    sfu_free(media);       /* closes the rooms, stops the workers */
    signaling_free(sig);
    turnd_free(turn);
    config_free(&cfg);
    return 0;
}
