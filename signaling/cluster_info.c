/* cluster_info.c - what a browser needs to find its meeting again when its node dies (PROTOCOL.md,
 * "Several nodes", `node-info`): sent just before every `existing-users` of a node in a cluster, it
 * names this node, the live nodes the browser may try when this one stops answering, and this node's
 * own iceServers (with TURN credentials minted by it, for the Host of its PUBLIC_URL): a browser that
 * was moved here from another node uses them, not the ones its page got from the first node.
 * Signaling thread only; nothing when s->cluster is NULL.
 */
#include <string.h>
#include <time.h>

#include "signaling/cluster.h"
#include "signaling/ice_servers.h"
#include "signaling/ids.h"
#include "signaling/server_internal.h"

/* The host[:port] of a public base URL http[s]://host[:port][/path] into out ("" when there is none). */
static void url_host(const char *url, char *out, size_t len)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    if (n >= len)
        n = 0;
    memcpy(out, p, n);
    out[n] = '\0';
}

void cluster_info_send(struct vm_signaling *s, vm_conn *c)
{
    if (!s->cluster)
        return;
    const cluster_node *nodes;
    size_t n = cluster_nodes(s->cluster, &nodes), k = 0;
    const char *urls[64];
    const char *self = cluster_node_id(s->cluster);
    urls[k++] = s->cfg->public_url; /* this node first, whether or not the last node list has it */
    for (size_t i = 0; i < n && k < G_N_ELEMENTS(urls); i++)
        if (strcmp(nodes[i].id, self) != 0 && !nodes[i].draining)
            urls[k++] = nodes[i].url;
    char host[300], tag[13];
    url_host(s->cfg->public_url, host, sizeof(host));
    json_t *ice = ids_random(tag, 12) == 0 ? ice_servers_build(s->cfg, host[0] ? host : NULL, (int64_t)time(NULL), tag)
                                           : NULL;
    session_send(c, msg_build_node_info(self, s->cfg->public_url, urls, k, ice));
}
