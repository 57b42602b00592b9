/* layer_select.c - the per-packet layer decision of layer_select.h. */
#include "sfu/layer_select.h"

void layer_select_init(layer_select *s)
{
    s->current = -1;
    s->target = -1;
    s->tid_limit = LAYER_SELECT_ALL_TEMPORAL;
    s->target_tid = LAYER_SELECT_ALL_TEMPORAL;
    s->last_keyreq_us = 0;
    s->keyreq_pending = 0;
}

void layer_select_set_target(layer_select *s, int spatial, int temporal)
{
    if (temporal < 0)
        temporal = 0;
    if (temporal > LAYER_SELECT_ALL_TEMPORAL)
        temporal = LAYER_SELECT_ALL_TEMPORAL;
    s->target_tid = temporal;
    if (spatial < 0) {
        s->target = -1;
        s->current = -1; /* paused at once: nothing more goes out */
        s->keyreq_pending = 0;
        return;
    }
    if (spatial != s->target && spatial != s->current)
        s->keyreq_pending = 1;
    if (spatial == s->current)
        s->keyreq_pending = 0;
    s->target = spatial;
}

ls_action layer_select_on_packet(layer_select *s, const ls_packet *p, int64_t now_us, int *keyframe_layer)
{
    *keyframe_layer = -1;
    if (s->target < 0)
        return LS_DROP;
    if (p->layer == s->target && s->target != s->current && p->keyframe) {
        s->current = s->target;
        s->tid_limit = s->target_tid;
        s->keyreq_pending = 0;
        return LS_SWITCHED;
    }
    if (s->keyreq_pending && s->target != s->current
        && (s->last_keyreq_us == 0 || now_us - s->last_keyreq_us >= LAYER_SELECT_KEYREQ_US)) {
        *keyframe_layer = s->target;
        s->last_keyreq_us = now_us;
    }
    if (p->layer != s->current)
        return LS_DROP;
    int want = s->target_tid;
    if (s->target < s->current && want > LAYER_SELECT_DOWN_TID)
        want = LAYER_SELECT_DOWN_TID; /* a step down waits for its keyframe: less of what it leaves */
    if (p->tid >= 0 && p->picture_start && s->tid_limit != want) {
        if (want < s->tid_limit)
            s->tid_limit = want; /* down: at any picture */
        else if (p->tid == 0)
            s->tid_limit = want; /* up: where the decoder can follow */
        else if (p->layer_sync && p->tid <= want && p->tid > s->tid_limit)
            s->tid_limit = p->tid;
    }
    if (p->tid > s->tid_limit)
        return LS_DROP;
    return LS_FORWARD;
}
