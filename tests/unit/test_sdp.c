/* test_sdp.c - the SDP parser and builder (sfu/sdp.c, sfu/sdp_parse.c, sfu/sdp_build.c) on
 * Chromium's real descriptions (tests/data/sdp/, captured by capture-chromium-offer.mjs), a
 * Firefox offer (capture-firefox-offer.mjs, round trip) and on broken input. The constants below are the values in the committed captures: re-capturing
 * the offers means updating them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/sdp.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static char *load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/sdp/%s", VM_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *copy = malloc(n + 1);
    assert_non_null(copy);
    memcpy(copy, buf, n + 1);
    *len = n;
    return copy;
}

static sdp_session *parse_file(const char *name)
{
    size_t len;
    char *text = load(name, &len);
    sdp_session *s = NULL;
    sdp_error err;
    int rc = sdp_parse(text, len, &s, &err);
    free(text);
    if (rc != 0)
        fail_msg("%s: rc=%d line %d: %s", name, rc, err.line, err.reason);
    return s;
}

static sdp_session *parse_str(const char *text)
{
    sdp_session *s = NULL;
    sdp_error err;
    int rc = sdp_parse(text, strlen(text), &s, &err);
    if (rc != 0)
        fail_msg("rc=%d line %d: %s", rc, err.line, err.reason);
    return s;
}

/* Parsing `text` fails with `code` at `line`. */
static void expect_error(const char *text, size_t len, int code, int line)
{
    sdp_session *s = (sdp_session *)&s; /* must be reset to NULL */
    sdp_error err;
    int rc = sdp_parse(text, len, &s, &err);
    if (rc != code || err.code != code || err.line != line || s != NULL)
        fail_msg("expected %d at line %d, got rc=%d line %d (%s)", code, line, rc, err.line,
                 err.reason ? err.reason : "");
    assert_non_null(err.reason);
}

#define HEAD "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
#define AUDIO "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"

static void expect_text_error(const char *text, int code, int line)
{
    expect_error(text, strlen(text), code, line);
}

static const uint8_t OFFER_FP[32] = { 0x03, 0x69, 0xCA, 0x1E, 0x51, 0x56, 0x9C, 0x59, 0x06, 0xDD, 0x56,
                                      0x12, 0x69, 0x71, 0x0C, 0x22, 0xD2, 0x50, 0x6E, 0xE1, 0xF5, 0x9A,
                                      0xDA, 0x1A, 0x0E, 0xF3, 0xB4, 0x78, 0x02, 0x93, 0x2A, 0xA3 };

/* ---- Chromium's offer ------------------------------------------------------------------ */

static void test_offer_session(void **state)
{
    (void)state;
    sdp_session *s = parse_file("chromium-offer.sdp");
    assert_int_equal(s->sess_id, 1189047476654613670ULL);
    assert_int_equal(s->sess_version, 2);
    assert_string_equal(s->origin_user, "-");
    assert_string_equal(s->origin_address, "127.0.0.1");
    assert_string_equal(s->name, "-");
    assert_true(s->extmap_allow_mixed);
    assert_string_equal(s->msid_semantic, "WMS a308766c-7fba-4042-915d-bc03f2c25ae8");
    const sdp_group *g = sdp_find_group(s, "BUNDLE");
    assert_non_null(g);
    assert_int_equal(g->n_mids, 2);
    assert_string_equal(g->mids[0], "0");
    assert_string_equal(g->mids[1], "1");
    assert_int_equal(s->n_media, 2);
    sdp_free(s);
}

static void test_offer_audio(void **state)
{
    (void)state;
    sdp_session *s = parse_file("chromium-offer.sdp");
    sdp_media *m = sdp_find_mid(s, "0");
    assert_ptr_equal(m, s->media[0]);
    assert_int_equal(m->kind, SDP_MEDIA_AUDIO);
    assert_int_equal(m->port, 9);
    assert_string_equal(m->proto, "UDP/TLS/RTP/SAVPF");
    assert_int_equal(m->n_fmts, 8);
    assert_int_equal(sdp_media_pt(m, 0), 111);
    assert_int_equal(sdp_media_pt(m, 7), 126);
    assert_string_equal(m->conn.address, "0.0.0.0");
    assert_int_equal(m->direction, SDP_DIR_SENDRECV);
    assert_string_equal(m->transport.ice_ufrag, "HCAR");
    assert_string_equal(m->transport.ice_pwd, "r3lCbB+N2MiZXWY4v+r9h1WQ");
    assert_string_equal(m->transport.ice_options, "trickle");
    assert_string_equal(m->transport.fingerprint.algorithm, "sha-256");
    assert_int_equal(m->transport.fingerprint.len, 32);
    assert_memory_equal(m->transport.fingerprint.bytes, OFFER_FP, 32);
    assert_int_equal(m->transport.setup, SDP_SETUP_ACTPASS);
    assert_true(m->rtcp_mux);
    assert_true(m->rtcp_rsize);
    const sdp_rtpmap *opus = sdp_media_rtpmap(m, 111);
    assert_non_null(opus);
    assert_string_equal(opus->name, "opus");
    assert_int_equal(opus->clock_rate, 48000);
    assert_int_equal(opus->channels, 2);
    assert_int_equal(sdp_media_rtpmap(m, 0)->clock_rate, 8000);
    assert_int_equal(sdp_media_rtpmap(m, 0)->channels, 0);
    const char *fmtp = sdp_media_fmtp(m, 111);
    assert_string_equal(fmtp, "minptime=10;useinbandfec=1");
    assert_int_equal(sdp_fmtp_get_uint(fmtp, "useinbandfec"), 1);
    assert_int_equal(sdp_fmtp_get_uint(fmtp, "minptime"), 10);
    assert_true(sdp_media_has_rtcp_fb(m, 111, "transport-cc", NULL));
    assert_false(sdp_media_has_rtcp_fb(m, 111, "nack", NULL));
    assert_int_equal(sdp_media_extmap_id(m, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"), 1);
    assert_int_equal(sdp_media_extmap_id(m, "urn:ietf:params:rtp-hdrext:sdes:mid"), 4);
    assert_int_equal(m->n_ssrcs, 1);
    assert_int_equal(m->ssrcs[0].ssrc, 4200801655u);
    assert_string_equal(m->ssrcs[0].cname, "m96ttw4ULJFEMdNg");
    assert_string_equal(m->ssrcs[0].msid_track, "0f15d103-8dbb-4e78-ae5d-ce492fc4552b");
    assert_int_equal(m->n_msids, 1);
    assert_string_equal(m->msids[0].stream, "a308766c-7fba-4042-915d-bc03f2c25ae8");
    assert_string_equal(m->msids[0].track, "0f15d103-8dbb-4e78-ae5d-ce492fc4552b");
    /* a=rtcp and a=rtcp-xr are kept verbatim */
    assert_int_equal(m->n_attrs, 2);
    assert_string_equal(m->attrs[0].name, "rtcp");
    assert_string_equal(m->attrs[0].value, "9 IN IP4 0.0.0.0");
    assert_string_equal(m->attrs[1].name, "rtcp-xr");
    sdp_free(s);
}

static void test_offer_video(void **state)
{
    (void)state;
    sdp_session *s = parse_file("chromium-offer.sdp");
    sdp_media *m = sdp_find_mid(s, "1");
    assert_non_null(m);
    assert_int_equal(m->kind, SDP_MEDIA_VIDEO);
    assert_int_equal(m->n_fmts, 23);
    assert_string_equal(sdp_media_rtpmap(m, 96)->name, "VP8");
    assert_int_equal(sdp_media_rtpmap(m, 96)->clock_rate, 90000);
    assert_string_equal(sdp_media_rtpmap(m, 97)->name, "rtx");
    assert_int_equal(sdp_fmtp_get_uint(sdp_media_fmtp(m, 97), "apt"), 96);
    char plid[8];
    assert_int_equal(sdp_fmtp_get(sdp_media_fmtp(m, 108), "profile-level-id", plid, sizeof(plid)), 6);
    assert_string_equal(plid, "42e01f");
    assert_int_equal(sdp_fmtp_get_uint(sdp_media_fmtp(m, 108), "packetization-mode"), 1);
    assert_int_equal(sdp_fmtp_get_uint(sdp_media_fmtp(m, 104), "packetization-mode"), 0);
    assert_true(sdp_media_has_rtcp_fb(m, 96, "nack", "pli"));
    assert_true(sdp_media_has_rtcp_fb(m, 96, "ccm", "fir"));
    assert_true(sdp_media_has_rtcp_fb(m, 96, "goog-remb", NULL));
    assert_false(sdp_media_has_rtcp_fb(m, 97, "nack", NULL));
    assert_int_equal(sdp_media_extmap_id(m, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"),
                     3);
    assert_int_equal(sdp_media_extmap_id(m, "urn:ietf:params:rtp-hdrext:toffset"), 14);
    assert_int_equal(m->n_extmaps, 11);
    assert_int_equal(m->n_ssrc_groups, 1);
    assert_string_equal(m->ssrc_groups[0].semantics, "FID");
    assert_int_equal(m->ssrc_groups[0].ssrcs[0], 3965752926u);
    assert_int_equal(m->ssrc_groups[0].ssrcs[1], 987721883u);
    assert_int_equal(sdp_media_fid_rtx(m, 3965752926u), 987721883u);
    assert_int_equal(sdp_media_fid_rtx(m, 987721883u), 0);
    assert_int_equal(m->n_ssrcs, 2);
    assert_string_equal(sdp_media_ssrc(m, 987721883u)->msid_stream, "a308766c-7fba-4042-915d-bc03f2c25ae8");
    sdp_free(s);
}

static void test_offer_sendonly_and_gathered(void **state)
{
    (void)state;
    sdp_session *s = parse_file("chromium-offer-sendonly.sdp");
    assert_int_equal(s->media[0]->direction, SDP_DIR_SENDONLY);
    assert_int_equal(s->media[1]->direction, SDP_DIR_SENDONLY);
    sdp_free(s);

    s = parse_file("chromium-offer-gathered.sdp");
    sdp_media *m = s->media[0];
    assert_int_equal(m->port, 48253);
    assert_string_equal(m->conn.address, "127.0.0.1");
    assert_int_equal(m->n_candidates, 2);
    const sdp_candidate *c = &m->candidates[0];
    assert_string_equal(c->foundation, "1741911420");
    assert_int_equal(c->component, 1);
    assert_string_equal(c->transport, "udp");
    assert_int_equal(c->priority, 2122260223u);
    assert_string_equal(c->address, "127.0.0.1");
    assert_int_equal(c->port, 48253);
    assert_int_equal(c->type, SDP_CAND_HOST);
    assert_int_equal(c->rport, -1);
    assert_string_equal(m->candidates[1].transport, "tcp");
    assert_string_equal(m->candidates[1].tcptype, "active");
    assert_int_equal(m->candidates[1].port, 9);
    assert_int_equal(s->media[1]->port, 41380);
    sdp_free(s);
}

/* build(parse(x)) is a fixed point of parse+build, and keeps the values. */
static void round_trip(const char *name)
{
    sdp_session *a = parse_file(name);
    size_t len1;
    char *text1 = sdp_build_alloc(a, &len1);
    assert_non_null(text1);
    assert_int_equal(strlen(text1), len1);
    assert_non_null(strstr(text1, "\r\n"));
    sdp_session *b = parse_str(text1);
    char *text2 = sdp_build_alloc(b, NULL);
    assert_string_equal(text1, text2);
    assert_int_equal(a->n_media, b->n_media);
    for (size_t i = 0; i < a->n_media; i++) {
        const sdp_media *x = a->media[i], *y = b->media[i];
        assert_string_equal(x->mid, y->mid);
        assert_int_equal(x->n_fmts, y->n_fmts);
        assert_int_equal(x->n_rtpmaps, y->n_rtpmaps);
        assert_int_equal(x->n_fmtps, y->n_fmtps);
        assert_int_equal(x->n_rtcp_fbs, y->n_rtcp_fbs);
        assert_int_equal(x->n_extmaps, y->n_extmaps);
        assert_int_equal(x->n_ssrcs, y->n_ssrcs);
        assert_int_equal(x->n_candidates, y->n_candidates);
        assert_int_equal(x->direction, y->direction);
        assert_memory_equal(&x->transport.fingerprint, &y->transport.fingerprint, sizeof(sdp_fingerprint));
    }
    /* a buffer one byte short is refused, an exact one works */
    char *buf = malloc(len1 + 1);
    assert_int_equal(sdp_build(a, buf, len1), SDP_ERR_SPACE);
    assert_int_equal(sdp_build(a, buf, len1 + 1), (int)len1);
    assert_string_equal(buf, text1);
    free(buf);
    free(text1);
    free(text2);
    sdp_free(a);
    sdp_free(b);
}

static void test_round_trip_fixtures(void **state)
{
    (void)state;
    round_trip("chromium-offer.sdp");
    round_trip("chromium-offer-sendonly.sdp");
    round_trip("chromium-offer-gathered.sdp");
    round_trip("chromium-answer-to-sfu-offer.sdp");
    round_trip("chromium-answer-reneg-2.sdp");
    round_trip("firefox-offer-simulcast.sdp");
}

static void test_chromium_answer(void **state)
{
    (void)state;
    sdp_session *s = parse_file("chromium-answer-to-sfu-offer.sdp");
    const sdp_group *g = sdp_find_group(s, "BUNDLE");
    assert_int_equal(g->n_mids, 3);
    assert_string_equal(g->mids[0], "a0");
    assert_string_equal(g->mids[2], "a1");
    assert_int_equal(s->n_media, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(s->media[i]->direction, SDP_DIR_RECVONLY);
        assert_int_equal(s->media[i]->transport.setup, SDP_SETUP_ACTIVE);
        assert_int_equal(s->media[i]->transport.fingerprint.len, 32);
        assert_true(s->media[i]->rtcp_mux);
    }
    sdp_media *v = sdp_find_mid(s, "v0");
    assert_int_equal(v->n_fmts, 2);
    assert_int_equal(sdp_media_pt(v, 0), 96);
    assert_int_equal(sdp_media_pt(v, 1), 97);
    assert_int_equal(sdp_fmtp_get_uint(sdp_media_fmtp(v, 97), "apt"), 96);
    assert_int_equal(s->media[0]->n_ssrcs, 0);
    sdp_free(s);
}

/* ---- candidates, fingerprints, fmtp ----------------------------------------------------- */

static void test_candidate_parse_format(void **state)
{
    (void)state;
    sdp_candidate c;
    const char *srflx = "a=candidate:842163049 1 UDP 1677729535 203.0.113.7 61665 typ srflx raddr 10.0.0.2 "
                        "rport 61665 generation 0 ufrag EsAw network-cost 999\r\n";
    assert_int_equal(sdp_candidate_parse(srflx, strlen(srflx), &c), 0);
    assert_string_equal(c.foundation, "842163049");
    assert_string_equal(c.transport, "udp");
    assert_int_equal(c.priority, 1677729535u);
    assert_string_equal(c.address, "203.0.113.7");
    assert_int_equal(c.port, 61665);
    assert_int_equal(c.type, SDP_CAND_SRFLX);
    assert_string_equal(c.raddr, "10.0.0.2");
    assert_int_equal(c.rport, 61665);
    char out[256];
    int n = sdp_candidate_format(&c, out, sizeof(out));
    assert_string_equal(out, "candidate:842163049 1 udp 1677729535 203.0.113.7 61665 typ srflx raddr 10.0.0.2 "
                             "rport 61665");
    assert_int_equal(n, (int)strlen(out));
    assert_int_equal(sdp_candidate_format(&c, out, (size_t)n), SDP_ERR_SPACE);

    const char *v6 = "candidate:1 2 tcp 1 2001:db8::1 9 typ host tcptype active";
    assert_int_equal(sdp_candidate_parse(v6, strlen(v6), &c), 0);
    assert_int_equal(c.component, 2);
    assert_string_equal(c.address, "2001:db8::1");
    assert_string_equal(c.tcptype, "active");
    sdp_candidate_format(&c, out, sizeof(out));
    assert_string_equal(out, v6);

    const char *relay = "candidate:x+/9 1 udp 5 uuid-1234.local 3478 typ relay raddr 0.0.0.0 rport 0";
    assert_int_equal(sdp_candidate_parse(relay, strlen(relay), &c), 0);
    assert_int_equal(c.type, SDP_CAND_RELAY);
    assert_string_equal(c.foundation, "x+/9");
    assert_int_equal(c.rport, 0);

    static const char *bad[] = {
        "candidate:1 1 udp 5 1.2.3.4 3478 typ bogus",         /* unknown type */
        "candidate:1 1 udp 5 1.2.3.4 3478 host",              /* no "typ" */
        "candidate:1 1 udp 5 1.2.3.4 70000 typ host",         /* port > 65535 */
        "candidate:1 0 udp 5 1.2.3.4 1 typ host",             /* component 0 */
        "candidate:1 1 udp 99999999999 1.2.3.4 1 typ host",   /* priority > 2^32-1 */
        "candidate:1 1 udp 5 1.2.3.4 1 typ host raddr",       /* extension without value */
        "candidate:1 1 udp 5 1.2.3.4 1 typ host rport x",     /* bad rport */
        "candidate:1 1 udp",                                  /* truncated */
        "candidate:",                                         /* empty */
        "cand:1 1 udp 5 1.2.3.4 1 typ host",                  /* wrong prefix */
        "candidate:a_b 1 udp 5 1.2.3.4 1 typ host",           /* '_' is not an ice-char */
        "candidate:1 1 udp 5 1.2.3.4 1 typ host\x01",         /* control byte */
        "candidate:1 1 udp 5 1.2.3.4 1 typ host raddr 1.2\x7f", /* DEL (found by fuzz_sdp) */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (sdp_candidate_parse(bad[i], strlen(bad[i]), &c) != SDP_ERR_SYNTAX)
            fail_msg("accepted '%s'", bad[i]);
    /* a repeated extension keeps the last value and leaves no stale bytes (found by fuzz_sdp) */
    sdp_candidate once, twice;
    const char *t1 = "candidate:1 1 udp 5 1.2.3.4 1 typ srflx raddr 1.2.3.4";
    const char *t2 = "candidate:1 1 udp 5 1.2.3.4 1 typ srflx raddr 10.200.30.40 raddr 1.2.3.4";
    assert_int_equal(sdp_candidate_parse(t1, strlen(t1), &once), 0);
    assert_int_equal(sdp_candidate_parse(t2, strlen(t2), &twice), 0);
    assert_memory_equal(&once, &twice, sizeof(once));
    char longf[200];
    snprintf(longf, sizeof(longf), "candidate:%s 1 udp 5 1.2.3.4 1 typ host",
             "123456789012345678901234567890123"); /* 33-char foundation */
    assert_int_equal(sdp_candidate_parse(longf, strlen(longf), &c), SDP_ERR_LIMIT);
    memset(&c, 0, sizeof(c));
    assert_int_equal(sdp_candidate_format(&c, out, sizeof(out)), SDP_ERR_INVALID);
}

static void test_fingerprint(void **state)
{
    (void)state;
    sdp_fingerprint fp;
    assert_int_equal(sdp_fingerprint_parse("SHA-256 0a:Bc:ff", &fp), 0);
    assert_string_equal(fp.algorithm, "sha-256");
    assert_int_equal(fp.len, 3);
    assert_int_equal(fp.bytes[0], 0x0a);
    assert_int_equal(fp.bytes[1], 0xbc);
    char out[64];
    assert_int_equal(sdp_fingerprint_format(&fp, out, sizeof(out)), 16);
    assert_string_equal(out, "sha-256 0A:BC:FF");
    assert_int_equal(sdp_fingerprint_format(&fp, out, 16), SDP_ERR_SPACE);
    assert_int_equal(sdp_fingerprint_parse("sha-256 0A:B", &fp), SDP_ERR_SYNTAX);
    assert_int_equal(sdp_fingerprint_parse("sha-256 0A:", &fp), SDP_ERR_SYNTAX);
    assert_int_equal(sdp_fingerprint_parse("sha-256 0A::BC", &fp), SDP_ERR_SYNTAX);
    assert_int_equal(sdp_fingerprint_parse("sha-256", &fp), SDP_ERR_SYNTAX);
    assert_int_equal(sdp_fingerprint_parse("sha-256 0G", &fp), SDP_ERR_SYNTAX);
    char big[400] = "sha-512 ";
    for (int i = 0; i < 65; i++)
        strcat(big, i ? ":AA" : "AA");
    assert_int_equal(sdp_fingerprint_parse(big, &fp), SDP_ERR_LIMIT);
}

static void test_fmtp_get(void **state)
{
    (void)state;
    const char *p = "level-asymmetry-allowed=1; packetization-mode = 1;Profile-Level-Id=42e01f";
    char v[16];
    assert_int_equal(sdp_fmtp_get(p, "profile-level-id", v, sizeof(v)), 6);
    assert_string_equal(v, "42e01f");
    assert_int_equal(sdp_fmtp_get_uint(p, "packetization-mode"), 1);
    assert_int_equal(sdp_fmtp_get_uint(p, "level-asymmetry-allowed"), 1);
    assert_int_equal(sdp_fmtp_get(p, "apt", v, sizeof(v)), SDP_ERR_NOTFOUND);
    assert_int_equal(sdp_fmtp_get(p, "profile-level-id", v, 6), SDP_ERR_SPACE);
    assert_int_equal(sdp_fmtp_get_uint("apt=x1", "apt"), SDP_ERR_SYNTAX);
    assert_int_equal(sdp_fmtp_get_uint("111/111", "apt"), SDP_ERR_NOTFOUND);
    assert_int_equal(sdp_fmtp_get_uint(NULL, "apt"), SDP_ERR_NOTFOUND);
    assert_int_equal(sdp_fmtp_get_uint("apt=", "apt"), SDP_ERR_SYNTAX);
}

/* ---- broken input ----------------------------------------------------------------------- */

static void test_errors_structure(void **state)
{
    (void)state;
    expect_text_error("", SDP_ERR_MISSING, 0);
    expect_text_error("o=- 1 2 IN IP4 127.0.0.1\r\nv=0\r\n", SDP_ERR_MISSING, 1);
    expect_text_error("v=0\r\ns=-\r\n", SDP_ERR_MISSING, 0);
    expect_text_error("v=1\r\n", SDP_ERR_SYNTAX, 1);
    expect_text_error(HEAD "v=0\r\n", SDP_ERR_SYNTAX, 5);
    expect_text_error(HEAD "o=- 1 2 IN IP4 127.0.0.1\r\n", SDP_ERR_SYNTAX, 5);
    expect_text_error("v=0\r\no=- 1 2 IN IP4\r\n", SDP_ERR_SYNTAX, 2);
    expect_text_error("v=0\r\no=- x 2 IN IP4 1.2.3.4\r\n", SDP_ERR_SYNTAX, 2);
    expect_text_error("v=0\r\no=- 99999999999999999999999 2 IN IP4 1.2.3.4\r\n", SDP_ERR_SYNTAX, 2);
    expect_text_error(HEAD "x=unknown\r\n", SDP_ERR_SYNTAX, 5);
    expect_text_error(HEAD "garbage line\r\n", SDP_ERR_SYNTAX, 5);
    expect_text_error(HEAD "A=foo\r\n", SDP_ERR_SYNTAX, 5);
    expect_text_error(HEAD AUDIO "t=0 0\r\n", SDP_ERR_SYNTAX, 8);
    expect_text_error(HEAD "t=0\r\n", SDP_ERR_SYNTAX, 5);
    expect_text_error(HEAD "c=IN IP4\r\n", SDP_ERR_SYNTAX, 5);
    expect_text_error(HEAD "b=AS\r\n", SDP_ERR_SYNTAX, 5);
    expect_text_error(HEAD "a=\r\n", SDP_ERR_SYNTAX, 5);
    expect_text_error(HEAD "a=group:BUNDLE 0 1\r\n" AUDIO, SDP_ERR_SYNTAX, 5);
    expect_text_error(HEAD "a=group:BUNDLE 0 0\r\n" AUDIO, SDP_ERR_SYNTAX, 5);
    expect_text_error(HEAD AUDIO "a=mid:1\r\n", SDP_ERR_SYNTAX, 8);
    expect_text_error(HEAD AUDIO AUDIO, SDP_ERR_SYNTAX, 10);
}

static void test_errors_mline(void **state)
{
    (void)state;
    expect_text_error(HEAD "m=audio\r\n", SDP_ERR_SYNTAX, 5);
    expect_text_error(HEAD "m=audio 9 UDP/TLS/RTP/SAVPF\r\n", SDP_ERR_SYNTAX, 5);
    expect_text_error(HEAD "m=audio port UDP/TLS/RTP/SAVPF 111\r\n", SDP_ERR_SYNTAX, 5);
    expect_text_error(HEAD "m=audio 65536 UDP/TLS/RTP/SAVPF 111\r\n", SDP_ERR_SYNTAX, 5);
    expect_text_error(HEAD "m=audio 9/0 UDP/TLS/RTP/SAVPF 111\r\n", SDP_ERR_SYNTAX, 5);
    expect_text_error(HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 128\r\n", SDP_ERR_SYNTAX, 5);
    expect_text_error(HEAD "m=audio 9 UDP/TLS/RTP/SAVPF opus\r\n", SDP_ERR_SYNTAX, 5);
    /* a non-RTP m-line may have word formats */
    sdp_session *s = parse_str(HEAD "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sctp-port:5000\r\n");
    assert_int_equal(s->media[0]->kind, SDP_MEDIA_APPLICATION);
    assert_int_equal(sdp_media_pt(s->media[0], 0), -1);
    assert_string_equal(s->media[0]->attrs[0].value, "5000");
    sdp_free(s);
}

static void test_errors_truncated_attributes(void **state)
{
    (void)state;
    static const char *bad[] = {
        "a=rtpmap:111\r\n",          "a=rtpmap:111 opus\r\n",        "a=rtpmap:111 opus/\r\n",
        "a=rtpmap:111 opus/48000/\r\n", "a=rtpmap:200 opus/48000\r\n", "a=rtpmap:\r\n",
        "a=fmtp:111\r\n",            "a=rtcp-fb:111\r\n",            "a=rtcp-fb:x nack\r\n",
        "a=extmap:\r\n",             "a=extmap:1\r\n",               "a=extmap:0 urn:x\r\n",
        "a=extmap:256 urn:x\r\n",    "a=extmap:1/sideways urn:x\r\n", "a=ssrc:123\r\n",
        "a=ssrc:123 cname:\r\n",     "a=ssrc:4294967296 cname:x\r\n", "a=ssrc-group:FID\r\n",
        "a=ssrc-group:FID 1 x\r\n",  "a=msid:\r\n",                  "a=candidate:1 1 udp\r\n",
        "a=fingerprint:sha-256 AB:C\r\n", "a=fingerprint:sha-256\r\n", "a=setup:maybe\r\n",
        "a=ice-ufrag:ab\r\n",        "a=ice-pwd:short\r\n",          "a=mid:\r\n",
        "a=rtcp-mux:yes\r\n",        "a=sendonly:x\r\n",             "a=ice-options:\r\n",
        "a=rtpmap:111 opus/48000\r\na=rtpmap:111 opus/48000\r\n", "a=extmap:1 urn:a\r\na=extmap:1 urn:b\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), HEAD AUDIO "%s", bad[i]);
        sdp_session *s = NULL;
        sdp_error err;
        int rc = sdp_parse(text, strlen(text), &s, &err);
        if (rc != SDP_ERR_SYNTAX || err.line < 8 || s != NULL)
            fail_msg("'%s': rc=%d line=%d", bad[i], rc, err.line);
    }
}

static void test_errors_limits(void **state)
{
    (void)state;
    /* huge line */
    size_t n = SDP_MAX_LINE + 100;
    char *text = malloc(n + 64);
    strcpy(text, HEAD "a=x:");
    size_t off = strlen(text);
    memset(text + off, 'y', n);
    strcpy(text + off + n, "\r\n");
    expect_error(text, strlen(text), SDP_ERR_LIMIT, 5);
    free(text);

    /* too many m-lines */
    size_t cap = 300 * 64 + 256;
    text = malloc(cap);
    strcpy(text, HEAD);
    for (int i = 0; i < SDP_MAX_MEDIA + 1; i++) {
        off = strlen(text);
        snprintf(text + off, cap - off, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n");
    }
    expect_error(text, strlen(text), SDP_ERR_LIMIT, 4 + SDP_MAX_MEDIA + 1);
    free(text);

    /* too many formats on one m-line, too many rtcp-fb */
    char line[1024] = HEAD "m=video 9 UDP/TLS/RTP/SAVPF";
    for (int i = 0; i < SDP_MAX_FORMATS + 1; i++)
        snprintf(line + strlen(line), sizeof(line) - strlen(line), " %d", i);
    strcat(line, "\r\n");
    expect_error(line, strlen(line), SDP_ERR_LIMIT, 5);

    cap = 400 * 32;
    text = malloc(cap);
    strcpy(text, HEAD AUDIO);
    for (int i = 0; i < SDP_MAX_RTCP_FB + 1; i++) {
        off = strlen(text);
        snprintf(text + off, cap - off, "a=rtcp-fb:111 nack\r\n");
    }
    expect_error(text, strlen(text), SDP_ERR_LIMIT, 7 + SDP_MAX_RTCP_FB + 1);
    free(text);

    /* whole description too large */
    static char big[SDP_MAX_TEXT + 2];
    memset(big, '\n', sizeof(big));
    expect_error(big, sizeof(big), SDP_ERR_LIMIT, 0);
    /* too many (empty) lines */
    expect_error(big, SDP_MAX_LINES + 1, SDP_ERR_LIMIT, SDP_MAX_LINES + 1);
}

static void test_errors_garbage(void **state)
{
    (void)state;
    static const char nul[] = "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=a\0b\r\n";
    expect_error(nul, sizeof(nul) - 1, SDP_ERR_SYNTAX, 3);
    expect_text_error("v=0\r\no=- 1 2 IN IP4 1.2.3.4\rs=-\r\n", SDP_ERR_SYNTAX, 2);
    expect_text_error("\x89PNG\r\n\x1a\n", SDP_ERR_SYNTAX, 1);
    expect_text_error(HEAD "s=\x1b[31m\r\n", SDP_ERR_SYNTAX, 5);
    /* deterministic pseudo-random bytes: never a crash, always an error */
    uint32_t x = 12345;
    unsigned char buf[512];
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (unsigned char)(x >> 16);
        }
        sdp_session *s = NULL;
        assert_true(sdp_parse((const char *)buf, sizeof(buf), &s, NULL) < 0);
        assert_null(s);
    }
}

static void test_tolerated(void **state)
{
    (void)state;
    /* LF endings, blank lines, repeated spaces, i= and unknown attributes, rid/simulcast */
    sdp_session *s = parse_str("v=0\no=- 1 2 IN IP4 127.0.0.1\ni=info\n\ns=x\nt=0 0\n"
                               "a=group:BUNDLE  0\n"
                               "m=video 9 UDP/TLS/RTP/SAVPF 96  97\n"
                               "a=mid:0\na=rtpmap:96   VP8/90000\na=rid:h send\na=simulcast:send h;l\n"
                               "a=rtcp-fb:* nack\na=extmap:5/recvonly urn:x attr1\na=ssrc:7 mslabel:foo\n"
                               "a=ice-lite\na=end-of-candidates\n");
    sdp_media *m = s->media[0];
    assert_int_equal(m->n_fmts, 2);
    assert_string_equal(sdp_media_rtpmap(m, 96)->name, "VP8");
    assert_true(sdp_media_has_rtcp_fb(m, 96, "nack", NULL));
    assert_int_equal(m->rtcp_fbs[0].pt, -1);
    assert_int_equal(m->extmaps[0].direction, SDP_DIR_RECVONLY);
    assert_string_equal(m->extmaps[0].attrs, "attr1");
    assert_int_equal(m->n_ssrcs, 1);
    assert_null(m->ssrcs[0].cname);
    assert_true(m->end_of_candidates);
    /* ice-lite at media level is not ours to model: kept verbatim */
    assert_false(s->ice_lite);
    assert_int_equal(m->n_attrs, 3);
    assert_string_equal(m->attrs[0].name, "rid");
    assert_string_equal(m->attrs[1].value, "send h;l");
    char *text = sdp_build_alloc(s, NULL);
    assert_non_null(strstr(text, "a=rtcp-fb:* nack\r\n"));
    assert_non_null(strstr(text, "a=extmap:5/recvonly urn:x attr1\r\n"));
    assert_non_null(strstr(text, "a=simulcast:send h;l\r\n"));
    free(text);
    sdp_free(s);
    sdp_free(NULL);
}

/* ---- construction and building ---------------------------------------------------------- */

static void test_build_constructed(void **state)
{
    (void)state;
    sdp_session *s = sdp_session_new();
    s->sess_id = 7;
    s->sess_version = 3;
    sdp_group *g = sdp_add_group(s, "BUNDLE");
    assert_int_equal(sdp_group_add_mid(s, g, "a"), 0);
    sdp_media *m = sdp_add_media(s, SDP_MEDIA_AUDIO, NULL, "UDP/TLS/RTP/SAVPF");
    assert_int_equal(sdp_media_add_pt(s, m, 111), 0);
    assert_int_equal(sdp_set_conn(s, &m->conn, "IP4", "0.0.0.0"), 0);
    assert_int_equal(sdp_set_str(s, &m->mid, "a"), 0);
    m->direction = SDP_DIR_SENDONLY;
    m->rtcp_mux = true;
    assert_int_equal(sdp_media_add_rtpmap(s, m, 111, "opus", 48000, 2), 0);
    assert_int_equal(sdp_media_add_fmtp(s, m, 111, "minptime=10"), 0);
    assert_int_equal(sdp_media_add_rtcp_fb(s, m, 111, "transport-cc", NULL), 0);
    assert_int_equal(sdp_media_add_ssrc(s, m, 42, "c", "st", "tr"), 0);
    char *text = sdp_build_alloc(s, NULL);
    assert_string_equal(text, "v=0\r\no=- 7 3 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE a\r\n"
                              "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a\r\n"
                              "a=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
                              "a=rtcp-fb:111 transport-cc\r\na=fmtp:111 minptime=10\r\n"
                              "a=ssrc:42 cname:c\r\na=ssrc:42 msid:st tr\r\n");
    free(text);
    /* values that would inject lines or break tokens are refused */
    assert_int_equal(sdp_set_str(s, &m->mid, "x\r\na=evil"), SDP_ERR_INVALID);
    assert_int_equal(sdp_media_add_msid(s, m, "two words", NULL), SDP_ERR_INVALID);
    assert_int_equal(sdp_media_add_ssrc(s, m, 1, "c\n", NULL, NULL), SDP_ERR_INVALID);
    assert_int_equal(sdp_add_attr(s, m, "x", "a\rb"), SDP_ERR_INVALID);
    assert_int_equal(sdp_media_add_rtpmap(s, m, 111, "opus", 48000, 2), SDP_ERR_SYNTAX);
    assert_int_equal(sdp_media_add_pt(s, m, 128), SDP_ERR_INVALID);
    assert_int_equal(sdp_media_add_extmap(s, m, 0, SDP_DIR_NONE, "urn:x", NULL), SDP_ERR_INVALID);
    assert_string_equal(m->mid, "a");
    /* an m-line without formats cannot be written */
    sdp_add_media(s, SDP_MEDIA_VIDEO, NULL, "UDP/TLS/RTP/SAVPF");
    assert_null(sdp_build_alloc(s, NULL));
    char small[8];
    assert_int_equal(sdp_build(s, small, sizeof(small)), SDP_ERR_INVALID);
    sdp_free(s);
}

static void test_arena_growth(void **state)
{
    (void)state;
    /* many entries in one array: doubling keeps every earlier value */
    sdp_session *s = sdp_session_new();
    sdp_media *m = sdp_add_media(s, SDP_MEDIA_VIDEO, NULL, "RTP/AVP");
    for (unsigned i = 0; i < SDP_MAX_RTCP_FB; i++) {
        char param[16];
        snprintf(param, sizeof(param), "p%u", i);
        assert_int_equal(sdp_media_add_rtcp_fb(s, m, (int)(i % 128), "x", param), 0);
    }
    assert_int_equal(sdp_media_add_rtcp_fb(s, m, 1, "x", NULL), SDP_ERR_LIMIT);
    for (unsigned i = 0; i < SDP_MAX_RTCP_FB; i++) {
        char param[16];
        snprintf(param, sizeof(param), "p%u", i);
        assert_string_equal(m->rtcp_fbs[i].param, param);
    }
    for (int i = 1; i < SDP_MAX_MEDIA; i++)
        assert_non_null(sdp_add_media(s, SDP_MEDIA_AUDIO, NULL, "RTP/AVP"));
    assert_null(sdp_add_media(s, SDP_MEDIA_AUDIO, NULL, "RTP/AVP"));
    assert_ptr_equal(s->media[0], m);
    sdp_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offer_session),
        cmocka_unit_test(test_offer_audio),
        cmocka_unit_test(test_offer_video),
        cmocka_unit_test(test_offer_sendonly_and_gathered),
        cmocka_unit_test(test_round_trip_fixtures),
        cmocka_unit_test(test_chromium_answer),
        cmocka_unit_test(test_candidate_parse_format),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_fmtp_get),
        cmocka_unit_test(test_errors_structure),
        cmocka_unit_test(test_errors_mline),
        cmocka_unit_test(test_errors_truncated_attributes),
        cmocka_unit_test(test_errors_limits),
        cmocka_unit_test(test_errors_garbage),
        cmocka_unit_test(test_tolerated),
        cmocka_unit_test(test_build_constructed),
        cmocka_unit_test(test_arena_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
