/* fuzz_sdp.c - libFuzzer target for the SDP parser, builder and the SFU negotiation
 * (sfu/sdp*.c). Besides "no crash, no leak, no UB" it checks two properties:
 *  - whatever sdp_parse() accepts, sdp_build() can write, the text parses again, and building
 *    that gives the same text (parse -> build is a fixed point);
 *  - the SFU's answer to any accepted description builds and parses.
 * The input is also tried as a lone trickle candidate and as the browser's answer to a fixed
 * downstream offer. Seeds: tests/fuzz/corpus/sdp/.
 *   build-fuzz/fuzz_sdp -max_total_time=60 -dict=... tests/fuzz/corpus/sdp */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/sdp_negotiate.h"

static sdp_local local_params(void)
{
    static sdp_candidate cand = { .foundation = "1", .component = 1, .transport = "udp", .priority = 1,
                                  .address = "127.0.0.1", .port = 9, .type = SDP_CAND_HOST, .rport = -1 };
    sdp_local l = { .ice_ufrag = "fuzz", .ice_pwd = "fuzzfuzzfuzzfuzzfuzzfuzz", .candidates = &cand,
                    .n_candidates = 1, .sess_id = 1, .sess_version = 1, .accept_data_channel = true };
    return l;
}

static void check_fixed_point(const sdp_session *s)
{
    size_t len1;
    char *t1 = sdp_build_alloc(s, &len1);
    if (t1 == NULL)
        abort(); /* a parsed description must be writable */
    sdp_session *s2 = NULL;
    sdp_error err;
    if (sdp_parse(t1, len1, &s2, &err) != 0) {
        fprintf(stderr, "built text does not parse: line %d: %s\n%s\n", err.line, err.reason, t1);
        abort();
    }
    char *t2 = sdp_build_alloc(s2, NULL);
    if (t2 == NULL || strcmp(t1, t2) != 0) {
        fprintf(stderr, "not a fixed point:\n%s\n----\n%s\n", t1, t2 ? t2 : "(null)");
        abort();
    }
    free(t1);
    free(t2);
    sdp_free(s2);
}

static void check_answer(const sdp_session *offer)
{
    sdp_local l = local_params();
    sdp_session *ans = NULL;
    static sdp_up_result r;
    if (sdp_answer_upstream(offer, &l, &ans, &r) != 0)
        return;
    size_t len;
    char *text = sdp_build_alloc(ans, &len);
    sdp_session *back = NULL;
    if (text == NULL || sdp_parse(text, len, &back, NULL) != 0) {
        fprintf(stderr, "answer does not build/parse:\n%s\n", text ? text : "(null)");
        abort();
    }
    if (back->n_media != offer->n_media)
        abort();
    free(text);
    sdp_free(back);
    sdp_free(ans);
}

static void check_as_down_answer(const sdp_session *answer)
{
    sdp_down *d = sdp_down_new(1, NULL);
    sdp_down_track t[2];
    memset(t, 0, sizeof(t));
    for (int i = 0; i < 2; i++) {
        snprintf(t[i].mid, sizeof(t[i].mid), "%d", i);
        t[i].kind = i ? SDP_MEDIA_VIDEO : SDP_MEDIA_AUDIO;
        sdp_codec_default(&t[i].codec, i ? SDP_CODEC_VP8 : SDP_CODEC_OPUS, i ? 96 : 111, i ? 97 : -1);
        t[i].ssrc = 10u + (uint32_t)i;
        t[i].rtx_ssrc = i ? 20 : 0;
        strcpy(t[i].cname, "c");
        strcpy(t[i].stream_id, "s");
        strcpy(t[i].track_id, i ? "v" : "a");
    }
    sdp_local l = local_params();
    sdp_session *offer = NULL;
    sdp_remote_transport rt;
    if (d == NULL || sdp_down_set_tracks(d, t, 2) != 0 || sdp_down_offer(d, &l, &offer) != 0)
        abort();
    (void)sdp_down_apply_answer(d, answer, &rt);
    sdp_free(offer);
    sdp_down_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    sdp_candidate c;
    if (sdp_candidate_parse(text, size, &c) == 0) {
        char out[256];
        if (sdp_candidate_format(&c, out, sizeof(out)) < 0)
            abort();
        sdp_candidate c2;
        if (sdp_candidate_parse(out, strlen(out), &c2) != 0 || memcmp(&c, &c2, sizeof(c)) != 0)
            abort();
    }
    sdp_session *s = NULL;
    sdp_error err;
    int rc = sdp_parse(text, size, &s, &err);
    if (rc != 0) {
        if (s != NULL || rc != err.code || err.reason == NULL)
            abort();
        return 0;
    }
    check_fixed_point(s);
    check_answer(s);
    check_as_down_answer(s);
    sdp_free(s);
    return 0;
}
