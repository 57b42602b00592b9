/* test_sdp_negotiate.c - the SFU's JSEP negotiation (sfu/sdp_negotiate.c): answers to Chromium's
 * captured upstream offers and to Firefox's simulcast offer, downstream offers for 0/1/3 tracks, a
 * renegotiation that removes a track, adds one and recycles an m-line, and Chromium's captured
 * answers to those offers.
 *
 * Golden files: every generated description is compared byte for byte with
 * tests/data/sdp/generated/<name>.sdp. tests/e2e/sdp-chromium.test.mjs feeds those same files to
 * a real Chromium, so what Chromium is shown is exactly what this code builds. When the env
 * variable VM_SDP_OUT names a directory, the generated text is first written there; to refresh
 * the goldens after a deliberate change:
 *     VM_SDP_OUT=$PWD/tests/data/sdp/generated build-x/test_sdp_negotiate
 * then re-capture Chromium's answers (tests/data/sdp/capture-chromium-offer.mjs answers DIR). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sfu/sdp_negotiate.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static char *load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/sdp/%s", VM_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    char *buf = malloc(1 << 16);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static sdp_session *parse_text(const char *text)
{
    sdp_session *s = NULL;
    sdp_error err;
    if (sdp_parse(text, strlen(text), &s, &err) != 0)
        fail_msg("parse: line %d: %s", err.line, err.reason);
    return s;
}

static sdp_session *parse_file(const char *name)
{
    char *text = load(name, NULL);
    sdp_session *s = parse_text(text);
    free(text);
    return s;
}

/* Writes s to $VM_SDP_OUT/<name> when set, then compares it with generated/<name>. */
static void check_golden(const char *name, const sdp_session *s)
{
    char *text = sdp_build_alloc(s, NULL);
    assert_non_null(text);
    const char *dir = getenv("VM_SDP_OUT");
    if (dir != NULL && dir[0] != '\0') {
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            fail_msg("cannot create %s", dir);
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *f = fopen(path, "wb");
        if (f == NULL)
            fail_msg("cannot write %s", path);
        fputs(text, f);
        fclose(f);
    }
    char golden[128];
    snprintf(golden, sizeof(golden), "generated/%s", name);
    char *want = load(golden, NULL);
    if (strcmp(text, want) != 0)
        fail_msg("%s differs from tests/data/sdp/%s (see the comment atop this file to refresh it)\n%s", name,
                 golden, text);
    free(want);
    free(text);
}

static const char UFRAG[] = "sfuA";
static const char PWD[] = "sfuPassword0123456789abc";

static sdp_candidate cand;

static sdp_local local_params(void)
{
    const char *line = "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host";
    assert_int_equal(sdp_candidate_parse(line, strlen(line), &cand), 0);
    sdp_local l = { .ice_ufrag = UFRAG, .ice_pwd = PWD, .ice_options = "trickle", .candidates = &cand,
                    .n_candidates = 1, .end_of_candidates = true, .sess_id = 4242, .sess_version = 1 };
    for (int i = 0; i < 32; i++)
        l.fingerprint_sha256[i] = (uint8_t)i;
    return l;
}

static sdp_session *answer_to(const char *offer_text, sdp_up_result *r, int expect_rc)
{
    sdp_session *offer = parse_text(offer_text);
    sdp_local l = local_params();
    sdp_session *ans = NULL;
    assert_int_equal(sdp_answer_upstream(offer, &l, &ans, r), expect_rc);
    sdp_free(offer);
    return ans;
}

/* ---- upstream: Chromium's offer ---------------------------------------------------------- */

static void test_answer_chromium_offer_result(void **state)
{
    (void)state;
    char *text = load("chromium-offer-sendonly.sdp", NULL);
    sdp_up_result r;
    sdp_session *ans = answer_to(text, &r, 0);
    free(text);
    assert_int_equal(r.n_media, 2);
    assert_int_equal(r.n_accepted, 2);
    const sdp_up_media *a = &r.media[0], *v = &r.media[1];
    assert_string_equal(a->mid, "0");
    assert_int_equal(a->kind, SDP_MEDIA_AUDIO);
    assert_true(a->accepted);
    assert_int_equal(a->direction, SDP_DIR_RECVONLY);
    assert_int_equal(a->n_codecs, 1);
    assert_int_equal(a->codecs[0].id, SDP_CODEC_OPUS);
    assert_int_equal(a->codecs[0].pt, 111);
    assert_int_equal(a->codecs[0].rtx_pt, -1);
    assert_int_equal(a->codecs[0].clock_rate, 48000);
    assert_int_equal(a->codecs[0].channels, 2);
    assert_string_equal(a->codecs[0].fmtp, "minptime=10;useinbandfec=1;usedtx=1");
    assert_true(a->codecs[0].fb_twcc);
    assert_false(a->codecs[0].fb_nack);
    assert_int_equal(a->ext.audio_level, 1);
    assert_int_equal(a->ext.abs_send_time, 2);
    assert_int_equal(a->ext.twcc, 3);
    assert_int_equal(a->ext.mid, 4);
    assert_int_equal(a->n_ssrcs, 1);
    assert_int_equal(a->ssrcs[0].ssrc, 2112209798u);
    assert_int_equal(a->ssrcs[0].rtx_ssrc, 0);
    assert_string_equal(a->cname, "MJfhC/Bi49y2OZDc");
    assert_string_equal(a->stream_id, "84bac170-ad01-4847-b046-9cec928f753a");
    assert_string_equal(a->track_id, "c7ab2b08-89a3-4890-8d67-3ea67c256e15");

    assert_string_equal(v->mid, "1");
    assert_int_equal(v->n_codecs, 2);
    assert_int_equal(v->codecs[0].id, SDP_CODEC_VP8);
    assert_int_equal(v->codecs[0].pt, 96);
    assert_int_equal(v->codecs[0].rtx_pt, 97);
    assert_true(v->codecs[0].fb_nack && v->codecs[0].fb_pli && v->codecs[0].fb_fir);
    assert_true(v->codecs[0].fb_remb && v->codecs[0].fb_twcc);
    assert_int_equal(v->codecs[1].id, SDP_CODEC_H264);
    assert_int_equal(v->codecs[1].pt, 108);
    assert_int_equal(v->codecs[1].rtx_pt, 109);
    assert_string_equal(v->codecs[1].fmtp, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
    assert_int_equal(v->ext.audio_level, 0);
    assert_int_equal(v->ext.twcc, 3);
    assert_int_equal(v->ext.mid, 4);
    assert_int_equal(v->n_ssrcs, 1);
    assert_int_equal(v->ssrcs[0].ssrc, 1235362064u);
    assert_int_equal(v->ssrcs[0].rtx_ssrc, 744241618u);
    assert_string_equal(v->track_id, "c6e274d6-a1a3-4e30-ba2a-d658dfbc009b");

    assert_string_equal(r.remote.ice_ufrag, "p3+K");
    assert_string_equal(r.remote.ice_pwd, "k/m+yYkA7miuuoPcGE1I9s4d");
    assert_int_equal(r.remote.fingerprint.len, 32);
    assert_int_equal(r.remote.fingerprint.bytes[0], 0x35);
    assert_int_equal(r.remote.fingerprint.bytes[31], 0x08);
    assert_int_equal(r.remote.setup, SDP_SETUP_ACTPASS);
    assert_false(r.remote.dtls_client);
    sdp_free(ans);
}

/* Chromium's offer with three simulcast encodings (q, h, f) on its video transceiver: the answer
 * receives them (a=rid recv, a=simulcast:recv, the rid extensions kept); malformed or partial
 * simulcast lines fall back to one stream. */
static void test_answer_simulcast(void **state)
{
    (void)state;
    char *text = load("chromium-offer-simulcast.sdp", NULL);
    sdp_up_result r;
    sdp_session *ans = answer_to(text, &r, 0);
    const sdp_up_media *a = &r.media[0], *v = &r.media[1];
    assert_int_equal(a->n_rids, 0);
    assert_int_equal(a->ext.rid, 0);
    assert_int_equal(v->n_rids, 3);
    assert_string_equal(v->rids[0], "q");
    assert_string_equal(v->rids[1], "h");
    assert_string_equal(v->rids[2], "f");
    assert_int_equal(v->ext.rid, 10);
    assert_int_equal(v->ext.rrid, 11);
    assert_int_equal(v->n_ssrcs, 0); /* learned from the packets */
    char *out = sdp_build_alloc(ans, NULL);
    assert_non_null(out);
    assert_non_null(strstr(out, "a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n"));
    assert_non_null(strstr(out, "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"));
    assert_non_null(strstr(out, "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n"));
    /* the answer parses, and says the same when read back */
    sdp_session *again = parse_text(out);
    free(out);
    sdp_free(again);
    sdp_free(ans);

    /* variations of the simulcast line, applied to the same offer */
    static const struct {
        const char *line, *rids;
    } cases[] = {
        {"a=simulcast:send q;h;f", "q,h,f"},
        {"a=simulcast:send ~q;h", "q,h"},          /* paused: taken, unpaused */
        {"a=simulcast:send q,h;f", "q,f"},         /* alternatives: the first one */
        {"a=simulcast:recv x send f;q", "f,q"},    /* the send list, in its order */
        {"a=simulcast:send q;zz;f", "q,f"},        /* zz has no a=rid line */
        {"a=simulcast:send q;q;h", "q,h"},         /* duplicates once */
        {"a=simulcast:recv q;h;f", ""},            /* nothing to receive */
        {"a=simulcast:send", ""},
        {"a=simulcast:send q!;h", "h"},            /* not a rid */
        {"a=simulcast:sendq;h;f", ""},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        char *t = load("chromium-offer-simulcast.sdp", NULL);
        char *at = strstr(t, "a=simulcast:send q;h;f");
        assert_non_null(at);
        size_t head = (size_t)(at - t), old = strlen("a=simulcast:send q;h;f");
        size_t n = strlen(t) + strlen(cases[c].line) + 1;
        char *mod = malloc(n);
        assert_non_null(mod);
        snprintf(mod, n, "%.*s%s%s", (int)head, t, cases[c].line, at + old);
        ans = answer_to(mod, &r, 0);
        char got[64] = "";
        for (size_t k = 0; k < r.media[1].n_rids; k++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", k ? "," : "", r.media[1].rids[k]);
        if (strcmp(got, cases[c].rids) != 0)
            fail_msg("%s: got rids '%s', want '%s'", cases[c].line, got, cases[c].rids);
        if (r.media[1].n_rids == 0)
            assert_int_equal(r.media[1].ext.rid, 0);
        sdp_free(ans);
        free(mod);
        free(t);
    }
    /* without the rid extension there is no way to tell the streams apart: one stream */
    char *t = load("chromium-offer-simulcast.sdp", NULL);
    char *ext = strstr(t, "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id");
    assert_non_null(ext);
    memcpy(ext + strlen("a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:"), "xxx-stream", 10);
    ans = answer_to(t, &r, 0);
    assert_int_equal(r.media[1].n_rids, 0);
    sdp_free(ans);
    free(t);
    free(text);
}

/* Firefox's upstream offer as the web app makes it (tests/data/sdp/capture-firefox-offer.mjs):
 * video first with q/h/f encodings, a=ssrc lines for all six streams (the SFU goes by the rids),
 * extension ids of its own (mid 3, twcc 7, rid 9, repaired rid 10, some with a direction), RTX
 * for each codec, VP9/AV1/red/ulpfec too, and the audio m-line bundle-only with port 0. */
static void test_answer_firefox_simulcast(void **state)
{
    (void)state;
    char *text = load("firefox-offer-simulcast.sdp", NULL);
    sdp_up_result r;
    sdp_session *ans = answer_to(text, &r, 0);
    free(text);
    assert_int_equal(r.n_media, 2);
    assert_int_equal(r.n_accepted, 2);
    const sdp_up_media *v = &r.media[0], *a = &r.media[1];
    assert_string_equal(v->mid, "0");
    assert_int_equal(v->kind, SDP_MEDIA_VIDEO);
    assert_true(v->accepted);
    assert_int_equal(v->direction, SDP_DIR_RECVONLY);
    assert_int_equal(v->codecs[0].id, SDP_CODEC_VP8);
    assert_int_equal(v->codecs[0].pt, 120);
    assert_int_equal(v->codecs[0].rtx_pt, 124);
    assert_true(v->codecs[0].fb_nack && v->codecs[0].fb_pli && v->codecs[0].fb_fir);
    assert_true(v->codecs[0].fb_remb && v->codecs[0].fb_twcc);
    assert_int_equal(v->ext.mid, 3);
    assert_int_equal(v->ext.abs_send_time, 4);
    assert_int_equal(v->ext.twcc, 7);
    assert_int_equal(v->ext.rid, 9);
    assert_int_equal(v->ext.rrid, 10);
    assert_true(v->rtcp_rsize);
    assert_int_equal(v->n_rids, 3);
    assert_string_equal(v->rids[0], "q");
    assert_string_equal(v->rids[1], "h");
    assert_string_equal(v->rids[2], "f");
    assert_string_equal(v->stream_id, "{e8d143a2-6e6a-41dc-8142-744392013b13}");
    assert_string_equal(v->track_id, "{ffb18c98-2aeb-43eb-b366-207146a4893e}");

    assert_string_equal(a->mid, "1");
    assert_int_equal(a->kind, SDP_MEDIA_AUDIO);
    assert_true(a->accepted); /* bundle-only, port 0: still taken, on the bundle's transport */
    assert_int_equal(a->direction, SDP_DIR_RECVONLY);
    assert_int_equal(a->codecs[0].id, SDP_CODEC_OPUS);
    assert_int_equal(a->codecs[0].pt, 109);
    assert_int_equal(a->codecs[0].rtx_pt, -1);
    assert_true(a->codecs[0].fb_twcc);
    assert_int_equal(a->ext.audio_level, 1);
    assert_int_equal(a->ext.mid, 3);
    assert_int_equal(a->ext.twcc, 7);
    assert_int_equal(a->n_rids, 0);
    assert_int_equal(a->n_ssrcs, 1);
    assert_int_equal(a->ssrcs[0].ssrc, 1903719972u);
    assert_string_equal(a->stream_id, v->stream_id);

    assert_string_equal(r.remote.ice_ufrag, "f2cab115");
    assert_string_equal(r.remote.ice_pwd, "a603b1dd9d9a74bfe20245502e98e3bd");
    assert_int_equal(r.remote.fingerprint.len, 32);
    assert_int_equal(r.remote.fingerprint.bytes[0], 0x80);
    assert_int_equal(r.remote.fingerprint.bytes[31], 0x7D);
    assert_int_equal(r.remote.setup, SDP_SETUP_ACTPASS);
    assert_false(r.remote.dtls_client);

    char *out = sdp_build_alloc(ans, NULL);
    assert_non_null(out);
    assert_non_null(strstr(out, "a=group:BUNDLE 0 1\r\n"));
    assert_non_null(strstr(out, "a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n"));
    assert_non_null(strstr(out, "a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"));
    assert_non_null(strstr(out, "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n"));
    assert_non_null(strstr(out, "a=extmap:7 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"));
    assert_non_null(strstr(out, "a=rtpmap:120 VP8/90000\r\n"));
    assert_non_null(strstr(out, "a=fmtp:124 apt=120\r\n"));
    /* what the SFU does not use is not answered: other codecs, Firefox's directional extensions */
    assert_null(strstr(out, "VP9"));
    assert_null(strstr(out, "AV1"));
    assert_null(strstr(out, "playout-delay"));
    assert_null(strstr(out, "dependency-descriptor"));
    assert_null(strstr(out, "csrc-audio-level"));
    sdp_session *again = parse_text(out);
    free(out);
    sdp_free(again);
    sdp_free(ans);
}

static void test_answer_chromium_offer_text(void **state)
{
    (void)state;
    char *text = load("chromium-offer-sendonly.sdp", NULL);
    sdp_up_result r;
    sdp_session *ans = answer_to(text, &r, 0);
    free(text);
    check_golden("up-answer.sdp", ans);
    /* and what the text says, read back */
    char *out = sdp_build_alloc(ans, NULL);
    sdp_session *s = parse_text(out);
    free(out);
    assert_int_equal(s->sess_id, 4242);
    const sdp_group *g = sdp_find_group(s, "BUNDLE");
    assert_int_equal(g->n_mids, 2);
    assert_string_equal(g->mids[0], "0");
    assert_string_equal(g->mids[1], "1");
    const sdp_media *a = s->media[0], *v = s->media[1];
    assert_int_equal(a->port, 9);
    assert_int_equal(a->n_candidates, 1);
    assert_true(a->end_of_candidates);
    assert_int_equal(v->n_candidates, 0);
    assert_int_equal(a->n_fmts, 1);
    assert_int_equal(sdp_media_pt(a, 0), 111);
    assert_string_equal(sdp_media_fmtp(a, 111), "minptime=10;useinbandfec=1;usedtx=1");
    assert_int_equal(a->direction, SDP_DIR_RECVONLY);
    assert_int_equal(v->direction, SDP_DIR_RECVONLY);
    for (size_t i = 0; i < 2; i++) {
        const sdp_media *m = s->media[i];
        assert_int_equal(m->transport.setup, SDP_SETUP_PASSIVE);
        assert_string_equal(m->transport.ice_ufrag, UFRAG);
        assert_string_equal(m->transport.ice_pwd, PWD);
        assert_int_equal(m->transport.fingerprint.len, 32);
        assert_int_equal(m->transport.fingerprint.bytes[31], 31);
        assert_true(m->rtcp_mux);
        assert_true(m->rtcp_rsize);
        assert_int_equal(sdp_media_extmap_id(m, SDP_EXT_URI_TWCC), 3);
        assert_int_equal(sdp_media_extmap_id(m, SDP_EXT_URI_MID), 4);
    }
    assert_int_equal(a->n_extmaps, 4);
    assert_int_equal(v->n_extmaps, 3); /* toffset, video-orientation, playout-delay... dropped */
    assert_int_equal(sdp_media_extmap_id(v, "urn:ietf:params:rtp-hdrext:toffset"), 0);
    static const int pts[] = { 96, 97, 108, 109 };
    assert_int_equal(v->n_fmts, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(sdp_media_pt(v, i), pts[i]);
    assert_int_equal(sdp_fmtp_get_uint(sdp_media_fmtp(v, 109), "apt"), 108);
    assert_true(sdp_media_has_rtcp_fb(v, 108, "nack", "pli"));
    assert_false(sdp_media_has_rtcp_fb(v, 97, "nack", NULL));
    assert_int_equal(v->n_ssrcs, 0);
    sdp_free(s);
    sdp_free(ans);
}

static void test_answer_sendrecv_offer(void **state)
{
    (void)state;
    char *text = load("chromium-offer.sdp", NULL);
    sdp_up_result r;
    sdp_session *ans = answer_to(text, &r, 0);
    free(text);
    assert_int_equal(r.n_accepted, 2);
    assert_int_equal(ans->media[0]->direction, SDP_DIR_RECVONLY);
    assert_int_equal(ans->media[1]->direction, SDP_DIR_RECVONLY);
    assert_int_equal(r.media[1].ssrcs[0].ssrc, 3965752926u);
    assert_int_equal(r.media[1].ssrcs[0].rtx_ssrc, 987721883u);
    check_golden("up-answer-sendrecv.sdp", ans);
    sdp_free(ans);
}

/* ---- upstream: what is rejected ---------------------------------------------------------- */

#define OFFER_HEAD                                                                                   \
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"                                          \
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"                                   \
    "a=fingerprint:sha-256 01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:" \
    "19:1A:1B:1C:1D:1E:1F:20\r\n"
#define ACTPASS "a=setup:actpass\r\n"

static void test_answer_rejects(void **state)
{
    (void)state;
    const char *offer = OFFER_HEAD ACTPASS "a=group:BUNDLE a v d x n\r\n"
                                   "m=audio 9 UDP/TLS/RTP/SAVPF 0 8\r\na=mid:a\r\na=rtcp-mux\r\na=sendonly\r\n"
                                   "m=video 9 UDP/TLS/RTP/SAVPF 98\r\na=mid:v\r\na=rtcp-mux\r\n"
                                   "a=rtpmap:98 VP9/90000\r\n"
                                   "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:d\r\n"
                                   "a=sctp-port:5000\r\na=max-message-size:65536\r\n"
                                   "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:x\r\na=rtpmap:111 opus/48000/2\r\n"
                                   "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=mid:n\r\na=rtcp-mux\r\n"
                                   "a=rtpmap:111 opus/48000/2\r\n"
                                   "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:o\r\na=rtcp-mux\r\n"
                                   "a=rtpmap:111 opus/48000/2\r\n";
    sdp_up_result r;
    sdp_session *ans = answer_to(offer, &r, 0);
    /* PCMU/PCMA only, VP9 only, data channel not wanted, no rtcp-mux, port 0, not bundled */
    assert_int_equal(r.n_media, 6);
    assert_int_equal(r.n_accepted, 0);
    assert_int_equal(ans->n_media, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(ans->media[i]->port, 0);
        assert_false(r.media[i].accepted);
    }
    assert_string_equal(ans->media[2]->mid, "d");
    assert_string_equal(ans->media[2]->fmts[0], "webrtc-datachannel");
    assert_null(sdp_find_group(ans, "BUNDLE"));
    sdp_free(ans);

    /* the data channel is taken when the SFU wants it */
    sdp_session *o = parse_text(offer);
    sdp_local l = local_params();
    l.accept_data_channel = true;
    assert_int_equal(sdp_answer_upstream(o, &l, &ans, &r), 0);
    assert_int_equal(r.n_accepted, 1);
    assert_true(r.media[2].accepted && r.media[2].data_channel);
    assert_int_equal(r.media[2].remote_sctp_port, 5000);
    assert_int_equal(r.media[2].remote_max_message_size, 65536);
    const sdp_media *d = ans->media[2];
    assert_int_equal(d->port, 9);
    assert_string_equal(d->attrs[0].name, "sctp-port");
    assert_string_equal(d->attrs[0].value, "5000");
    assert_int_equal(d->n_candidates, 1); /* it is the BUNDLE tag now */
    assert_string_equal(sdp_find_group(ans, "BUNDLE")->mids[0], "d");
    sdp_free(ans);
    sdp_free(o);
}

static int h264_answer(const char *fmtp, char *answer_fmtp, size_t cap)
{
    char offer[1024];
    snprintf(offer, sizeof(offer),
             OFFER_HEAD ACTPASS "a=group:BUNDLE v\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=mid:v\r\na=rtcp-mux\r\n"
                        "a=rtpmap:102 H264/90000\r\na=fmtp:102 %s\r\n",
             fmtp);
    sdp_up_result r;
    sdp_session *ans = answer_to(offer, &r, 0);
    int accepted = (int)r.n_accepted;
    if (accepted)
        snprintf(answer_fmtp, cap, "%s", r.media[0].codecs[0].fmtp);
    if (accepted)
        assert_string_equal(sdp_media_fmtp(ans->media[0], 102), answer_fmtp);
    sdp_free(ans);
    return accepted;
}

static void test_answer_h264_profiles(void **state)
{
    (void)state;
    char f[128];
    assert_int_equal(h264_answer("packetization-mode=1;profile-level-id=42e01f", f, sizeof(f)), 1);
    assert_string_equal(f, "packetization-mode=1;profile-level-id=42e01f");
    assert_int_equal(h264_answer("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42C034", f,
                                 sizeof(f)),
                     1);
    assert_string_equal(f, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42c034");
    assert_int_equal(h264_answer("packetization-mode=1;profile-level-id=42e034", f, sizeof(f)), 0);
    assert_int_equal(h264_answer("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f", f,
                                 sizeof(f)),
                     0); /* baseline without constraint_set1 */
    assert_int_equal(h264_answer("level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f", f,
                                 sizeof(f)),
                     0);
    assert_int_equal(h264_answer("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f", f,
                                 sizeof(f)),
                     0);
    assert_int_equal(h264_answer("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4de01", f,
                                 sizeof(f)),
                     0);
    assert_int_equal(h264_answer("packetization-mode=1", f, sizeof(f)), 0);
}

static void test_answer_transport_cases(void **state)
{
    (void)state;
    const char *body = "a=group:BUNDLE a\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=rtcp-mux\r\n"
                       "a=rtpmap:111 opus/48000/2\r\n";
    char offer[2048];
    /* offer passive -> we are active, the DTLS client */
    snprintf(offer, sizeof(offer), "%sa=setup:passive\r\n%s", OFFER_HEAD, body);
    sdp_up_result r;
    sdp_session *ans = answer_to(offer, &r, 0);
    assert_int_equal(ans->media[0]->transport.setup, SDP_SETUP_ACTIVE);
    assert_true(r.remote.dtls_client);
    sdp_free(ans);
    /* offer active -> we are passive */
    snprintf(offer, sizeof(offer), "%sa=setup:active\r\n%s", OFFER_HEAD, body);
    ans = answer_to(offer, &r, 0);
    assert_int_equal(ans->media[0]->transport.setup, SDP_SETUP_PASSIVE);
    assert_false(r.remote.dtls_client);
    sdp_free(ans);
    /* holdconn: no usable role */
    snprintf(offer, sizeof(offer), "%sa=setup:holdconn\r\n%s", OFFER_HEAD, body);
    assert_null(answer_to(offer, &r, SDP_ERR_MISSING));
    /* no ICE credentials */
    snprintf(offer, sizeof(offer), "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n%s", body);
    assert_null(answer_to(offer, &r, SDP_ERR_MISSING));
    /* bad local parameters */
    sdp_session *o = parse_text(offer);
    sdp_local l = local_params();
    l.ice_pwd = "short";
    assert_int_equal(sdp_answer_upstream(o, &l, &ans, &r), SDP_ERR_INVALID);
    assert_null(ans);
    sdp_free(o);
}

/* ---- downstream -------------------------------------------------------------------------- */

static sdp_down_track track(const char *mid, sdp_media_kind kind, uint32_t ssrc, const char *who)
{
    sdp_down_track t;
    memset(&t, 0, sizeof(t));
    snprintf(t.mid, sizeof(t.mid), "%s", mid);
    t.kind = kind;
    if (kind == SDP_MEDIA_AUDIO) {
        sdp_codec_default(&t.codec, SDP_CODEC_OPUS, 111, -1);
    } else {
        sdp_codec_default(&t.codec, SDP_CODEC_VP8, 96, 97);
        t.rtx_ssrc = ssrc + 1;
    }
    t.ssrc = ssrc;
    snprintf(t.cname, sizeof(t.cname), "%s", who);
    snprintf(t.stream_id, sizeof(t.stream_id), "%s", who);
    snprintf(t.track_id, sizeof(t.track_id), "%s-%s", who, kind == SDP_MEDIA_AUDIO ? "audio" : "video");
    return t;
}

static sdp_session *down_offer(sdp_down *d)
{
    sdp_local l = local_params();
    sdp_session *o = NULL;
    assert_int_equal(sdp_down_offer(d, &l, &o), 0);
    assert_non_null(o);
    return o;
}

static void apply_file(sdp_down *d, const char *name, sdp_remote_transport *remote)
{
    sdp_session *a = parse_file(name);
    assert_int_equal(sdp_down_apply_answer(d, a, remote), 0);
    sdp_free(a);
}

static void test_down_offer_0_and_1(void **state)
{
    (void)state;
    sdp_down *d = sdp_down_new(777, NULL);
    assert_int_equal(sdp_down_set_tracks(d, NULL, 0), 0);
    sdp_session *o = down_offer(d);
    assert_int_equal(o->n_media, 0);
    assert_int_equal(o->n_groups, 0);
    assert_int_equal(o->sess_version, 1);
    check_golden("down-offer-0.sdp", o);
    sdp_free(o);
    sdp_down_free(d);

    d = sdp_down_new(777, NULL);
    sdp_down_track t = track("v0", SDP_MEDIA_VIDEO, 2001, "alice");
    assert_int_equal(sdp_down_set_tracks(d, &t, 1), 0);
    o = down_offer(d);
    check_golden("down-offer-1.sdp", o);
    assert_int_equal(o->n_media, 1);
    const sdp_media *m = o->media[0];
    assert_string_equal(sdp_find_group(o, "BUNDLE")->mids[0], "v0");
    assert_int_equal(m->kind, SDP_MEDIA_VIDEO);
    assert_int_equal(m->direction, SDP_DIR_SENDONLY);
    assert_int_equal(m->transport.setup, SDP_SETUP_ACTPASS);
    assert_string_equal(m->msids[0].stream, "alice");
    assert_string_equal(m->msids[0].track, "alice-video");
    assert_int_equal(sdp_media_pt(m, 0), 96);
    assert_int_equal(sdp_media_pt(m, 1), 97);
    assert_int_equal(sdp_fmtp_get_uint(sdp_media_fmtp(m, 97), "apt"), 96);
    assert_int_equal(sdp_media_fid_rtx(m, 2001), 2002);
    assert_string_equal(sdp_media_ssrc(m, 2002)->cname, "alice");
    assert_int_equal(sdp_media_extmap_id(m, SDP_EXT_URI_AUDIO_LEVEL), 0);
    assert_int_equal(sdp_media_extmap_id(m, SDP_EXT_URI_TWCC), 3);
    assert_true(sdp_media_has_rtcp_fb(m, 96, "ccm", "fir"));
    assert_int_equal(m->n_candidates, 1);
    assert_int_equal(sdp_down_slot_count(d), 1);
    assert_true(sdp_down_slot_at(d, 0)->active);
    sdp_free(o);
    sdp_down_free(d);
    sdp_down_free(NULL);
}

static void three_tracks(sdp_down_track t[3])
{
    t[0] = track("a0", SDP_MEDIA_AUDIO, 1001, "alice");
    t[1] = track("v0", SDP_MEDIA_VIDEO, 2001, "alice");
    t[2] = track("a1", SDP_MEDIA_AUDIO, 3001, "bob");
}

static void test_down_offer_3_and_chromium_answer(void **state)
{
    (void)state;
    sdp_down *d = sdp_down_new(777, NULL);
    sdp_down_track t[3];
    three_tracks(t);
    assert_int_equal(sdp_down_set_tracks(d, t, 3), 0);
    sdp_session *o = down_offer(d);
    check_golden("down-offer-3.sdp", o);
    const sdp_group *g = sdp_find_group(o, "BUNDLE");
    assert_int_equal(g->n_mids, 3);
    assert_int_equal(o->media[0]->port, 9);
    assert_int_equal(o->media[0]->n_candidates, 1);
    assert_int_equal(o->media[1]->n_candidates, 0);
    assert_int_equal(sdp_media_extmap_id(o->media[2], SDP_EXT_URI_AUDIO_LEVEL), 1);
    sdp_free(o);

    sdp_remote_transport rt;
    apply_file(d, "chromium-answer-to-sfu-offer.sdp", &rt);
    assert_int_equal(rt.setup, SDP_SETUP_ACTIVE);
    assert_false(rt.dtls_client);
    assert_int_equal(rt.fingerprint.len, 32);
    assert_true(strlen(rt.ice_ufrag) >= 4);
    const sdp_down_slot *a0 = sdp_down_find(d, "a0"), *v0 = sdp_down_find(d, "v0");
    assert_true(a0->accepted && a0->codec_accepted);
    assert_false(a0->rtx_accepted);
    assert_int_equal(a0->answer_direction, SDP_DIR_RECVONLY);
    assert_int_equal(a0->ext.audio_level, 1);
    assert_int_equal(a0->ext.mid, 4);
    assert_true(a0->answer_codec.fb_twcc);
    assert_true(v0->accepted && v0->codec_accepted && v0->rtx_accepted);
    assert_int_equal(v0->answer_codec.rtx_pt, 97);
    assert_true(v0->answer_codec.fb_nack && v0->answer_codec.fb_pli && v0->answer_codec.fb_remb);
    assert_int_equal(v0->ext.twcc, 3);
    assert_int_equal(v0->ext.abs_send_time, 2);
    assert_int_equal(v0->ext.audio_level, 0);
    assert_true(sdp_down_find(d, "a1")->accepted);
    /* a second answer to the same offer is refused */
    sdp_session *a = parse_file("chromium-answer-to-sfu-offer.sdp");
    assert_int_equal(sdp_down_apply_answer(d, a, &rt), SDP_ERR_INVALID);
    sdp_free(a);
    sdp_down_free(d);
}

static void test_down_renegotiation(void **state)
{
    (void)state;
    sdp_down *d = sdp_down_new(777, NULL);
    sdp_down_track t[4];
    three_tracks(t);
    assert_int_equal(sdp_down_set_tracks(d, t, 3), 0);
    sdp_free(down_offer(d));
    sdp_remote_transport rt;
    apply_file(d, "chromium-answer-to-sfu-offer.sdp", &rt);

    /* bob (a1) leaves, carol's video (v1) comes: a1 goes inactive, v1 is appended */
    t[2] = track("v1", SDP_MEDIA_VIDEO, 4001, "carol");
    assert_int_equal(sdp_down_set_tracks(d, t, 3), 0);
    sdp_session *o = down_offer(d);
    check_golden("down-reneg-2.sdp", o);
    assert_int_equal(o->sess_version, 2);
    assert_int_equal(o->n_media, 4);
    assert_string_equal(o->media[2]->mid, "a1");
    assert_int_equal(o->media[2]->port, 0);
    assert_int_equal(o->media[2]->direction, SDP_DIR_INACTIVE);
    assert_string_equal(o->media[3]->mid, "v1");
    const sdp_group *g = sdp_find_group(o, "BUNDLE");
    assert_int_equal(g->n_mids, 3);
    assert_false(sdp_group_has_mid(g, "a1"));
    sdp_free(o);
    assert_false(sdp_down_find(d, "a1")->recyclable);
    apply_file(d, "chromium-answer-reneg-2.sdp", &rt);
    assert_int_equal(rt.n_candidates, 1); /* Chromium had gathered by now */
    assert_string_equal(rt.candidates[0].address, "127.0.0.1");
    assert_int_equal(rt.candidates[0].port, 40565);
    assert_true(sdp_down_find(d, "a1")->recyclable);
    assert_false(sdp_down_find(d, "a1")->accepted);
    assert_true(sdp_down_find(d, "v1")->rtx_accepted);

    /* a retired mid cannot come back; a mid cannot change kind (nothing changes) */
    sdp_down_track again[3] = { t[0], t[1], track("a1", SDP_MEDIA_AUDIO, 6001, "bob") };
    assert_int_equal(sdp_down_set_tracks(d, again, 3), SDP_ERR_INVALID);
    again[2] = t[2];
    again[1].kind = SDP_MEDIA_AUDIO;
    again[1].codec.id = SDP_CODEC_OPUS;
    assert_int_equal(sdp_down_set_tracks(d, again, 3), SDP_ERR_INVALID);
    assert_true(sdp_down_find(d, "v0")->active);
    assert_false(sdp_down_find(d, "a1")->active);

    /* dave's audio (a2) takes a1's slot; order and the other mids stay */
    t[3] = track("a2", SDP_MEDIA_AUDIO, 5001, "dave");
    assert_int_equal(sdp_down_set_tracks(d, t, 4), 0);
    o = down_offer(d);
    check_golden("down-reneg-3.sdp", o);
    assert_int_equal(o->sess_version, 3);
    assert_int_equal(o->n_media, 4);
    static const char *mids[] = { "a0", "v0", "a2", "v1" };
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(o->media[i]->mid, mids[i]);
        assert_int_equal(o->media[i]->port, 9);
    }
    assert_int_equal(sdp_find_group(o, "BUNDLE")->n_mids, 4);
    assert_null(sdp_down_find(d, "a1"));
    sdp_free(o);
    apply_file(d, "chromium-answer-reneg-3.sdp", &rt);
    assert_true(sdp_down_find(d, "a2")->accepted);
    assert_int_equal(sdp_down_find(d, "a2")->ext.audio_level, 1);
    assert_int_equal(sdp_down_slot_count(d), 4);
    assert_int_equal(sdp_down_version(d), 3);
    sdp_down_free(d);
}

/* The first m-line carries the BUNDLE transport: when its track goes, it stays bundled and
 * inactive with its transport (Chromium tears the transport down if the BUNDLE tag is rejected),
 * and it is never recycled. */
static void test_down_bundle_tag_stays(void **state)
{
    (void)state;
    sdp_down *d = sdp_down_new(778, NULL);
    sdp_down_track t[4];
    three_tracks(t);
    assert_int_equal(sdp_down_set_tracks(d, t, 3), 0);
    sdp_free(down_offer(d));
    sdp_remote_transport rt;
    apply_file(d, "chromium-answer-to-sfu-offer.sdp", &rt);
    assert_true(sdp_down_slot_at(d, 0)->bundle_tag);
    assert_false(sdp_down_slot_at(d, 1)->bundle_tag);

    /* the first track goes */
    assert_int_equal(sdp_down_set_tracks(d, t + 1, 2), 0);
    sdp_session *o = down_offer(d);
    assert_int_equal(o->n_media, 3);
    const sdp_media *tag = o->media[0];
    assert_string_equal(tag->mid, t[0].mid);
    assert_int_equal(tag->port, 9);
    assert_int_equal(tag->direction, SDP_DIR_INACTIVE);
    assert_non_null(tag->transport.ice_ufrag);
    assert_int_equal(tag->transport.fingerprint.len, 32);
    assert_int_equal(tag->n_ssrcs, 0);
    assert_int_equal(tag->n_msids, 0);
    const sdp_group *g = sdp_find_group(o, "BUNDLE");
    assert_int_equal(g->n_mids, 3);
    assert_string_equal(g->mids[0], t[0].mid);
    /* the text round-trips */
    char *text = sdp_build_alloc(o, NULL);
    sdp_session *again = parse_text(text);
    assert_int_equal(again->media[0]->port, 9);
    sdp_free(again);
    free(text);
    sdp_free(o);

    /* a new audio track does not take the tag's place, even after a new answer */
    t[3] = track("a9", SDP_MEDIA_AUDIO, 9001, "erin");
    sdp_down_track next[3] = { t[1], t[2], t[3] };
    assert_int_equal(sdp_down_set_tracks(d, next, 3), 0);
    assert_false(sdp_down_find(d, t[0].mid)->recyclable);
    assert_int_equal(sdp_down_slot_count(d), 4);
    assert_string_equal(sdp_down_slot_at(d, 3)->track.mid, "a9");
    assert_string_equal(sdp_down_slot_at(d, 0)->track.mid, t[0].mid);
    sdp_down_free(d);
}

static void test_down_errors(void **state)
{
    (void)state;
    sdp_down *d = sdp_down_new(1, NULL);
    sdp_down_track t[2] = { track("a0", SDP_MEDIA_AUDIO, 1, "x"), track("a0", SDP_MEDIA_AUDIO, 2, "y") };
    assert_int_equal(sdp_down_set_tracks(d, t, 2), SDP_ERR_INVALID); /* duplicate mid */
    t[1] = track("v0", SDP_MEDIA_VIDEO, 2, "y");
    sdp_codec_default(&t[1].codec, SDP_CODEC_H264, 111, 112);
    assert_int_equal(sdp_down_set_tracks(d, t, 2), SDP_ERR_INVALID); /* pt 111 twice */
    sdp_codec_default(&t[1].codec, SDP_CODEC_VP8, 96, 111);
    assert_int_equal(sdp_down_set_tracks(d, t, 2), SDP_ERR_INVALID); /* rtx pt = other's pt */
    t[1] = track("v0", SDP_MEDIA_VIDEO, 2, "y");
    t[1].rtx_ssrc = 0;
    assert_int_equal(sdp_down_set_tracks(d, t, 2), SDP_ERR_INVALID); /* rtx without ssrc */
    t[1] = track("v0", SDP_MEDIA_VIDEO, 2, "bad id");
    assert_int_equal(sdp_down_set_tracks(d, t, 2), SDP_ERR_INVALID); /* space in msid */
    t[1] = track("v0", SDP_MEDIA_VIDEO, 2, "y");
    t[1].codec.id = SDP_CODEC_OPUS;
    assert_int_equal(sdp_down_set_tracks(d, t, 2), SDP_ERR_INVALID); /* opus on video */
    t[1] = track("", SDP_MEDIA_VIDEO, 2, "y");
    assert_int_equal(sdp_down_set_tracks(d, t, 2), SDP_ERR_INVALID); /* empty mid */
    assert_int_equal(sdp_down_slot_count(d), 0); /* nothing changed */

    /* same codec on the same pt in two m-lines is fine */
    t[1] = track("a1", SDP_MEDIA_AUDIO, 2, "y");
    assert_int_equal(sdp_down_set_tracks(d, t, 2), 0);
    sdp_remote_transport rt;
    sdp_session *bogus = parse_file("chromium-answer-to-sfu-offer.sdp");
    assert_int_equal(sdp_down_apply_answer(d, bogus, &rt), SDP_ERR_INVALID); /* no offer yet */
    sdp_free(down_offer(d));
    assert_int_equal(sdp_down_apply_answer(d, bogus, &rt), SDP_ERR_INVALID); /* 3 m-lines for 2 */
    sdp_free(bogus);
    sdp_local l = local_params();
    l.ice_ufrag = NULL;
    sdp_session *o = (sdp_session *)&o;
    assert_int_equal(sdp_down_offer(d, &l, &o), SDP_ERR_INVALID);
    assert_null(o);
    sdp_down_free(d);

    /* more tracks than m-lines allowed */
    d = sdp_down_new(1, NULL);
    sdp_down_track *many = calloc(SDP_MAX_MEDIA + 1, sizeof(*many));
    for (int i = 0; i <= SDP_MAX_MEDIA; i++) {
        char mid[8];
        snprintf(mid, sizeof(mid), "m%d", i);
        many[i] = track(mid, SDP_MEDIA_AUDIO, (uint32_t)i + 1, "p");
    }
    assert_int_equal(sdp_down_set_tracks(d, many, SDP_MAX_MEDIA), 0);
    assert_int_equal(sdp_down_set_tracks(d, many, SDP_MAX_MEDIA + 1), SDP_ERR_LIMIT);
    assert_int_equal(sdp_down_slot_count(d), SDP_MAX_MEDIA);
    sdp_session *big = down_offer(d);
    char *text = sdp_build_alloc(big, NULL);
    sdp_session *back = parse_text(text);
    assert_int_equal(back->n_media, SDP_MAX_MEDIA);
    free(text);
    sdp_free(back);
    sdp_free(big);
    free(many);
    sdp_down_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_chromium_offer_result),
        cmocka_unit_test(test_answer_simulcast),
        cmocka_unit_test(test_answer_firefox_simulcast),
        cmocka_unit_test(test_answer_chromium_offer_text),
        cmocka_unit_test(test_answer_sendrecv_offer),
        cmocka_unit_test(test_answer_rejects),
        cmocka_unit_test(test_answer_h264_profiles),
        cmocka_unit_test(test_answer_transport_cases),
        cmocka_unit_test(test_down_offer_0_and_1),
        cmocka_unit_test(test_down_offer_3_and_chromium_answer),
        cmocka_unit_test(test_down_renegotiation),
        cmocka_unit_test(test_down_bundle_tag_stays),
        cmocka_unit_test(test_down_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
