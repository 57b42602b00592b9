/* ports.c - the media port budget (see ports.h). */
#include "signaling/ports.h"

void port_budget_init(port_budget *b, int min_port, int max_port)
{
    b->size = max_port >= min_port ? (size_t)(max_port - min_port) + 1 : 0;
    b->refused = 0;
}

size_t port_budget_capacity(const port_budget *b)
{
    return b->size / PORTS_PER_PARTICIPANT;
}

size_t port_budget_reserved(size_t participants)
{
    return participants * PORTS_PER_PARTICIPANT;
}

bool port_budget_admit(port_budget *b, size_t participants)
{
    if (participants < port_budget_capacity(b))
        return true;
    b->refused++;
    return false;
}
