/* fault.c - injected failures of the control path (see fault.h). Owns the table of sites. */
#include "sfu/fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char site[32];
    unsigned nth;  /* 0: every hit */
    unsigned hits; /* atomic */
} fault_site;

static fault_site sites[FAULT_MAX];
static unsigned n_sites; /* 0: no injection at all (the common case: one load) */

void fault_set(const char *spec)
{
    n_sites = 0;
    memset(sites, 0, sizeof(sites));
    if (!spec)
        return;
    const char *p = spec;
    while (*p && n_sites < FAULT_MAX) {
        size_t len = strcspn(p, ",");
        fault_site *f = &sites[n_sites];
        size_t name = strcspn(p, "@,");
        if (name > 0 && name < sizeof(f->site)) {
            memcpy(f->site, p, name);
            f->site[name] = '\0';
            f->nth = name < len ? (unsigned)strtoul(p + name + 1, NULL, 10) : 0;
            n_sites++;
        }
        p += len;
        if (*p == ',')
            p++;
    }
}

bool fault_hit(const char *site)
{
    for (unsigned i = 0; i < n_sites; i++) {
        fault_site *f = &sites[i];
        if (strcmp(f->site, site) != 0)
            continue;
        unsigned hit = __atomic_add_fetch(&f->hits, 1, __ATOMIC_RELAXED);
        return f->nth == 0 || hit == f->nth;
    }
    return false;
}
