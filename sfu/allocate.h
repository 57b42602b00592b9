/* allocate.h - splitting one receiver's bandwidth estimate over the tracks it receives.
 *
 * Audio first, always. Then every video the receiver wants at its lowest step, in priority order
 * (the tile shown largest first); a video that does not fit even at its lowest step is paused
 * (the browser is told, and shows it on the tile). Then up, one step at a time while the budget
 * allows: the videos of the highest priority first (taking turns among equals) until none of
 * them can go further, then the next priority. So once every tile is on, the one shown largest
 * gets a good layer before the thumbnails get better ones. The steps of a video are its spatial layers from the lowest up to the
 * largest the receiver asked for (by the size it renders the tile at), at the full frame rate; the
 * lowest layer also at a fraction of it (its lower temporal layers: with three, 40 %, 60 % and
 * 100 % of the layer's rate, the split of libwebrtc's three-layer VP8 rate allocation), for links
 * that cannot even carry that layer whole. A larger picture at a lower frame rate is never a step:
 * it looks worse than a smaller one that moves smoothly.
 *
 * Hysteresis: a video keeps the step it has while the whole allocation fits; a step above the one
 * it has needs ALLOC_UP_MARGIN more room than its rate, so a budget that wobbles around a layer's
 * rate does not flip it up and down; and among videos of the same priority, each first gets back
 * up to the step it has before any goes above its own, so a video keeps its layer rather than
 * hand it to an equal one (two switches, two keyframes, for the same picture sizes).
 *
 * Pure: no allocation, no clock, no I/O.
 */
#ifndef VM_SFU_ALLOCATE_H
#define VM_SFU_ALLOCATE_H

#include <stddef.h>
#include <stdint.h>

#define ALLOC_MAX_LAYERS 3
#define ALLOC_MAX_TEMPORAL 3
#define ALLOC_UP_MARGIN 0.15 /* room needed above a higher step's rate before taking it */
/* Added to the priority of a shared screen (layers.c): above any camera tile, whatever its size
 * (tile areas in 4096-pixel units stay below 2^17), so a screen gets its lowest step before the
 * cameras get theirs, and its layers up to its view before any camera steps up. */
#define ALLOC_PRIORITY_SCREEN (1u << 20)

typedef struct alloc_track {
    /* in */
    int video;                 /* 0: audio (always forwarded) */
    uint32_t audio_bps;        /* audio: its rate */
    unsigned priority;         /* larger first */
    int max_layer;             /* highest spatial layer wanted; -1: not wanted (hidden tile) */
    unsigned n_layers;         /* spatial layers the publisher sends */
    uint32_t layer_bps[ALLOC_MAX_LAYERS]; /* each layer's current rate; 0: not sent now */
    unsigned n_temporal;       /* temporal layers in each (1..3) */
    int cur_layer, cur_temporal; /* what it has now (-1: paused / nothing) */
    /* out */
    int layer;                 /* chosen spatial layer; -1: paused */
    int temporal;              /* highest temporal layer (n_temporal - 1 = all) */
    uint32_t bps;              /* the chosen step's rate */
    int paused;                /* wanted and sent, but not even its lowest step fits */
} alloc_track;

/* Chooses a step for every track within budget_bps. Returns the total rate allocated. */
uint32_t allocate(alloc_track *tracks, size_t n, uint32_t budget_bps);

/* The rate of (layer, temporal) of a track: the layer's rate times the temporal fraction. */
uint32_t alloc_step_bps(const alloc_track *t, int layer, int temporal);

/* The smallest budget that would give every wanted video its largest wanted layer (what to probe
 * for). */
uint32_t alloc_wanted_bps(const alloc_track *tracks, size_t n);

#endif
