/* allocate.c - the allocation of allocate.h: lowest steps in priority order, then steps up, the
 * highest priority first. At most a few dozen tracks per receiver: simple loops. */
#include "sfu/allocate.h"

#define MAX_STEPS (ALLOC_MAX_LAYERS * ALLOC_MAX_TEMPORAL)

typedef struct {
    int layer[MAX_STEPS], temporal[MAX_STEPS];
    uint32_t bps[MAX_STEPS];
    int n;
    int cur;  /* index of the step the track has now; -1: none */
    int step; /* chosen so far; -1: none */
} steps_t;

static const double temporal_share[ALLOC_MAX_TEMPORAL][ALLOC_MAX_TEMPORAL] = {
    {1.0, 0, 0}, {0.6, 1.0, 0}, {0.4, 0.6, 1.0},
};

uint32_t alloc_step_bps(const alloc_track *t, int layer, int temporal)
{
    if (layer < 0 || layer >= (int)t->n_layers || layer >= ALLOC_MAX_LAYERS)
        return 0;
    unsigned nt = t->n_temporal < 1 ? 1 : t->n_temporal > ALLOC_MAX_TEMPORAL ? ALLOC_MAX_TEMPORAL : t->n_temporal;
    if (temporal < 0)
        temporal = 0;
    if (temporal >= (int)nt)
        temporal = (int)nt - 1;
    return (uint32_t)(t->layer_bps[layer] * temporal_share[nt - 1][temporal]);
}

static void build_steps(const alloc_track *t, steps_t *s)
{
    s->n = 0;
    s->cur = -1;
    s->step = -1;
    unsigned nt = t->n_temporal < 1 ? 1 : t->n_temporal > ALLOC_MAX_TEMPORAL ? ALLOC_MAX_TEMPORAL : t->n_temporal;
    int lowest = 1;
    for (int l = 0; l <= t->max_layer && l < (int)t->n_layers && l < ALLOC_MAX_LAYERS; l++) {
        if (t->layer_bps[l] == 0)
            continue; /* not sent now */
        /* fewer frames only on the lowest layer: above it, a smaller picture at the full frame
         * rate is better than a larger one that stutters */
        int k = lowest ? 0 : (int)nt - 1;
        lowest = 0;
        for (; k < (int)nt; k++) {
            s->layer[s->n] = l;
            s->temporal[s->n] = k;
            s->bps[s->n] = alloc_step_bps(t, l, k);
            if (l == t->cur_layer && k == t->cur_temporal)
                s->cur = s->n;
            s->n++;
        }
    }
}

uint32_t allocate(alloc_track *tracks, size_t n, uint32_t budget_bps)
{
    int64_t total = 0; /* signed: a higher layer may cost less than a lower one right now */
    size_t order[256];
    steps_t steps[256];
    size_t nv = 0;
    for (size_t i = 0; i < n; i++) {
        alloc_track *t = &tracks[i];
        t->layer = -1;
        t->temporal = 0;
        t->bps = 0;
        t->paused = 0;
        if (!t->video) {
            t->bps = t->audio_bps;
            total += t->audio_bps;
            continue;
        }
        if (nv == sizeof(order) / sizeof(order[0]) || t->max_layer < 0)
            continue;
        /* insertion by priority, larger first; equal ones keep their order */
        size_t k = nv++;
        while (k > 0 && tracks[order[k - 1]].priority < t->priority) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }
    for (size_t k = 0; k < nv; k++)
        build_steps(&tracks[order[k]], &steps[k]);
    /* every wanted video at its lowest step, while it fits */
    for (size_t k = 0; k < nv; k++) {
        steps_t *s = &steps[k];
        /* a video that has nothing now (paused, or new) needs the margin too: a paused one does
         * not flap back on and off around its lowest step */
        int64_t need = s->n > 0 ? (int64_t)s->bps[0] + (s->cur < 0 ? (int64_t)(s->bps[0] * ALLOC_UP_MARGIN) : 0) : 0;
        if (s->n > 0 && total + need <= (int64_t)budget_bps) {
            s->step = 0;
            total += s->bps[0];
        } else if (s->n > 0) {
            tracks[order[k]].paused = 1; /* sent, but not even its lowest step fits */
        }
    }
    /* then up, one step at a time: the tiles of the highest priority first, taking turns among
     * equals, until none of them can go further; then the next priority. Among equals, first back
     * up to the steps they have (pass 0), then above them (pass 1): a video keeps its step rather
     * than hand it to an equal one that would have to switch up for it (two switches, two
     * keyframes, for the same picture sizes) */
    for (size_t g = 0; g < nv;) {
        size_t end = g + 1;
        while (end < nv && tracks[order[end]].priority == tracks[order[g]].priority)
            end++;
        for (int pass = 0; pass < 2; pass++) {
            for (int changed = 1; changed;) {
                changed = 0;
                for (size_t k = g; k < end; k++) {
                    steps_t *s = &steps[k];
                    if (s->step < 0 || s->step + 1 >= s->n || (pass == 0 && s->step + 1 > s->cur))
                        continue;
                    int next = s->step + 1;
                    int64_t extra = (int64_t)s->bps[next] - (int64_t)s->bps[s->step];
                    int64_t need = extra;
                    if (next > s->cur)
                        need += (int64_t)(s->bps[next] * ALLOC_UP_MARGIN);
                    if (total + need <= (int64_t)budget_bps) {
                        s->step = next;
                        total += extra;
                        changed = 1;
                    }
                }
            }
        }
        g = end;
    }
    for (size_t k = 0; k < nv; k++) {
        alloc_track *t = &tracks[order[k]];
        steps_t *s = &steps[k];
        if (s->step < 0)
            continue;
        t->layer = s->layer[s->step];
        t->temporal = s->temporal[s->step];
        t->bps = s->bps[s->step];
    }
    return (uint32_t)(total > UINT32_MAX ? UINT32_MAX : total < 0 ? 0 : total);
}

uint32_t alloc_wanted_bps(const alloc_track *tracks, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const alloc_track *t = &tracks[i];
        if (!t->video) {
            total += t->audio_bps;
            continue;
        }
        steps_t s;
        build_steps(t, &s);
        if (s.n > 0)
            total += s.bps[s.n - 1];
    }
    return (uint32_t)(total > UINT32_MAX ? UINT32_MAX : total);
}
