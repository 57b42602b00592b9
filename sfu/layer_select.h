/* layer_select.h - which simulcast layer, and which temporal layers of it, one subscriber gets of
 * one published video track, packet by packet.
 *
 * The allocator (sfu/allocate.h) sets a target: a spatial layer (0 = lowest resolution) and the
 * highest temporal layer to forward, or "paused". Packets of the layer being forwarded pass,
 * except pictures of temporal layers above the limit. A change of spatial layer waits for a
 * keyframe of the target layer (simulcast layers are separate streams: a decoder can only start
 * one at a keyframe); until then the current layer keeps flowing, and the caller is asked to
 * request that keyframe (at most once per LAYER_SELECT_KEYREQ_US). While a step down waits for its
 * keyframe, the layer it leaves goes on without its temporal layers above LAYER_SELECT_DOWN_TID
 * (with three, half its pictures and about 40 % of its rate less): a step down is mostly for a
 * link that no longer carries that layer, and until the lower layer's keyframe comes (a request's
 * round trip and an encoded picture, a few hundred ms) the whole layer would go on overflowing it:
 * the losses that follow freeze the picture, and a policer's retransmissions are lost too. Half the
 * frame rate for that long is not a freeze. A change of the temporal limit
 * happens at a picture start: downwards at any, upwards at a picture of temporal layer 0 or one
 * marked as a layer sync (RFC 7741 Y bit), where the decoder can follow the higher rate.
 *
 * The caller rewrites what passes (rewrite.h for seq/timestamp/SSRC, vp8_munge.h for the VP8
 * descriptor) and tells both about what it drops, so the receiver sees one unbroken stream.
 * Pure: no allocation, no clock, no I/O; one struct per subscriber per video track.
 */
#ifndef VM_SFU_LAYER_SELECT_H
#define VM_SFU_LAYER_SELECT_H

#include <stdint.h>

#define LAYER_SELECT_KEYREQ_US 500000 /* at most one keyframe request per subscriber track per 0.5 s */
#define LAYER_SELECT_ALL_TEMPORAL 3   /* a temporal limit that lets every temporal layer pass */
#define LAYER_SELECT_DOWN_TID 1       /* the temporal limit of a layer left by a step down, until the switch */

typedef struct layer_select {
    int current;      /* spatial layer forwarded now; -1: none */
    int target;       /* spatial layer wanted; -1: paused */
    int tid_limit;    /* highest temporal layer forwarded now */
    int target_tid;   /* highest temporal layer wanted */
    int64_t last_keyreq_us;
    int keyreq_pending; /* a request is owed (throttled) */
} layer_select;

/* What is known of one packet. */
typedef struct ls_packet {
    int layer;         /* its spatial layer */
    int keyframe;      /* the first packet of a keyframe */
    int picture_start; /* the first packet of a picture */
    int tid;           /* its temporal layer; -1: the stream has none */
    int layer_sync;    /* Y: a switch up to this temporal layer is safe here */
} ls_packet;

typedef enum {
    LS_DROP = 0,     /* do not forward (tell rewrite/vp8_munge it was skipped if it is the current layer) */
    LS_FORWARD = 1,  /* forward */
    LS_SWITCHED = 2, /* forward: the first packet of a newly selected layer (a keyframe) */
} ls_action;

/* Starts paused. */
void layer_select_init(layer_select *s);

/* Sets what the allocator wants: spatial layer (-1: pause) and temporal limit. */
void layer_select_set_target(layer_select *s, int spatial, int temporal);

/* Decides for one packet. *keyframe_layer is set to the layer whose keyframe the caller should
 * request now (-1: none). */
ls_action layer_select_on_packet(layer_select *s, const ls_packet *p, int64_t now_us, int *keyframe_layer);

#endif
