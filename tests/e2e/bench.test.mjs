// The load bench (videomeet-bench, built next to the server) against a real server, with no browser:
//
// - its own unit tests (--self-test: histogram, sequence tracking, synthetic VP8/Opus, SDP of both
//   connections against the SFU's negotiation code, the /metrics parser) pass;
// - a meeting of 3 bench participants: every session connects (up and down), every receiver gets
//   both tracks of both other participants with almost no loss, and the server's
//   videomeet_rtp_packets_out_total is at least what the bench received;
// - a small webinar (1 publisher, 4 subscribers): every subscriber gets audio and video and a keyframe;
// - with 5 % loss each way on the SFU's ports (nftables in this private network namespace): the bench
//   NACKs, the SFU retransmits over RTX and NACKs the publishers, who resend, and little stays lost;
// - a simulcast webinar with two of four receivers policed (the bench's own token bucket, at less
//   than the top layer needs): once the estimate has settled the policed receivers are shown lower
//   layers only and still decode, the others the top layer; transport-cc feedback flows; nobody fails;
// - the meeting50 scenario, small (10 participants showing 4 tiles each, speaking in turns): what each
//   receiver gets fits its tiles, the active speaker follows the turns, the switch latency and the
//   kernel floor of the same traffic are reported;
// - with no server listening it fails (exit code 1) instead of reporting empty figures;
// - --kernel-floor (no server: the same webinar traffic through the server's own send function, from
//   one socket with sendmmsg, and through one io_uring submit per batch) sends every datagram to every
//   subscriber and its receiver reads them.
// No timing assertions: the figures depend on the machine (see bench/README.md).
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, freePort } from '../lib/server.mjs';
import { bench } from '../lib/bench.mjs';
import { udpLoss } from '../lib/nft.mjs';

const RTC_MIN_PORT = 46400;
const RTC_MAX_PORT = 46599;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vm-bench-'));
let server;

before(async () => {
  server = await startServer({ RTC_MIN_PORT: String(RTC_MIN_PORT), RTC_MAX_PORT: String(RTC_MAX_PORT) });
});

after(async () => {
  if (server) await server.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});


/** A /metrics value; for a metric with labels (per worker), the sum over its series. */
async function metric(name) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const lines = text.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  assert.ok(lines.length > 0, `${name} in /metrics`);
  return lines.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Runs a scenario and returns its JSON results (after checking the exit code and stderr). */
async function scenario(name, args) {
  const out = path.join(tmp, `${name}.json`);
  // A light load (300 kbit/s, 15 fps) keeps the ASan build far from its limits on a busy machine.
  const r = await bench(['--url', server.url, '--server-pid', String(server.proc.pid), '--json', out, '--quiet',
    '--settle', '1', '--bitrate', '300', '--fps', '15', ...args]);
  assert.equal(r.code, 0, `bench exit code ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /AddressSanitizer|LeakSanitizer|runtime error:/, r.stderr);
  assert.match(r.stdout, /server CPU per forwarded packet/, 'the final table is printed');
  return JSON.parse(fs.readFileSync(out, 'utf8'));
}

test('the bench passes its own unit tests', async () => {
  const r = await bench(['--self-test'], 60000);
  assert.equal(r.code, 0, r.stderr);
  const m = r.stdout.match(/(\d+) passed, (\d+) failed/);
  assert.ok(m, r.stdout);
  assert.ok(Number(m[1]) > 50, `${m[1]} checks ran`);
  assert.equal(Number(m[2]), 0);
});

test('a meeting of 3 bench participants: everyone connects, sends and receives everyone else', async () => {
  const r = await scenario('meeting3', ['--meeting', '3', '--duration', '6', '--join-rate', '10']);
  assert.deepEqual(
    { planned: r.sessions.planned, ready: r.sessions.ready, failed: r.sessions.failed, publishers: r.sessions.publishers },
    { planned: 3, ready: 3, failed: 0, publishers: 3 });
  assert.equal(r.totals.up_connected, 3);
  assert.equal(r.totals.down_connected, 3);
  assert.ok(r.totals.rtp_sent > 0 && r.bench.rtp_sent_per_s > 0, 'the publishers sent');
  assert.ok(r.server.rtp_in_per_s > 0 && r.server.rtp_out_per_s > 0, 'the server forwarded in the window');
  assert.ok(r.bench.rtp_received_per_s > 0 && r.totals.rx_unique > 0, 'the receivers got packets');
  assert.ok(r.bench.loss_percent < 5, `loss in the window ${r.bench.loss_percent} %`);
  assert.ok(r.totals.loss_percent < 5, `loss over the run ${r.totals.loss_percent} %`);
  assert.ok(r.delay_ms.samples > 0 && r.delay_ms.p50 > 0, 'one-way delays were measured');
  // Each participant receives audio and video from each of the two others, and decodes a keyframe.
  for (const s of r.per_session) {
    assert.equal(s.ready, true, `${s.name}: ${s.why}`);
    assert.equal(s.tracks.length, 4, `${s.name} receives 4 tracks`);
    const from = new Set(s.tracks.map((t) => t.from));
    assert.equal(from.size, 2, `${s.name} receives two publishers`);
    assert.ok(!from.has(s.userId), `${s.name} does not receive itself`);
    for (const t of s.tracks) {
      assert.ok(t.unique > 0, `${s.name} got ${t.kind} from ${t.from}`);
      assert.ok(t.unique >= t.expected * 0.95, `${s.name} ${t.kind}: ${t.unique} of ${t.expected}`);
      if (t.kind === 'video') assert.equal(t.keyframe, true, `${s.name} got a keyframe from ${t.from}`);
    }
  }
  // The server forwarded at least every distinct packet the bench received (retransmissions aside).
  const out = await metric('videomeet_rtp_packets_out_total');
  assert.ok(out >= r.totals.rx_unique, `rtp_packets_out_total ${out} >= received ${r.totals.rx_unique}`);
  assert.ok(r.server.rtp_packets_out_total >= r.totals.rx_unique);
});

test('a webinar of 1 publisher and 4 subscribers: every subscriber gets audio and video', async () => {
  const r = await scenario('webinar4', ['--webinar', '4', '--duration', '4', '--join-rate', '10']);
  assert.equal(r.sessions.planned, 5);
  assert.equal(r.sessions.ready, 5);
  assert.equal(r.sessions.publishers, 1);
  assert.equal(r.totals.up_connected, 1);
  assert.equal(r.totals.down_connected, 4);
  const subs = r.per_session.filter((s) => !s.publishes);
  assert.equal(subs.length, 4);
  for (const s of subs) {
    assert.deepEqual(s.tracks.map((t) => t.kind).sort(), ['audio', 'video'], s.name);
    for (const t of s.tracks) assert.ok(t.unique > 0 && t.unique >= t.expected * 0.95, `${s.name} ${t.kind}`);
    assert.equal(s.tracks.find((t) => t.kind === 'video').keyframe, true, `${s.name} got a keyframe`);
  }
  // The publisher's packets went out four times (one per subscriber), give or take the window edges.
  assert.ok(r.server.rtp_out_per_s > 3 * r.server.rtp_in_per_s, JSON.stringify(r.server));
  assert.ok(r.bench.loss_percent < 5);
  // The worker's network loop: every forwarded packet left as a UDP datagram, several per send call
  // when a frame's packets leave together (UDP GSO), and the kernel refused none.
  const dgrams = await metric('videomeet_udp_datagrams_sent_total');
  const calls = await metric('videomeet_udp_send_calls_total');
  assert.ok(dgrams >= r.server.rtp_packets_out_total, `datagrams ${dgrams} >= RTP out ${r.server.rtp_packets_out_total}`);
  assert.ok(calls > 0 && calls < dgrams, `send calls ${calls} < datagrams ${dgrams}: batched`);
  // ... and the system calls that made them: one per send, or fewer where io_uring batches them
  const syscalls = await metric('videomeet_udp_send_syscalls_total');
  assert.ok(syscalls > 0 && syscalls <= calls, `send system calls ${syscalls} <= sends ${calls}`);
  assert.ok(r.server.udp_datagrams_per_send > 1, JSON.stringify(r.server));
  assert.ok(r.server.loop_wakeups_per_s > 0, JSON.stringify(r.server));
  // The server's own forwarding delay histogram saw every forwarded packet (one per subscriber).
  assert.ok((await metric('videomeet_forward_delay_seconds_count')) >= r.server.rtp_packets_out_total * 0.9);
  assert.ok(r.server.forward_delay_ms.p50 > 0 && r.server.forward_delay_ms.p99 >= r.server.forward_delay_ms.p50,
    JSON.stringify(r.server.forward_delay_ms));
  assert.ok((await metric('videomeet_udp_send_errors_total')) >= 0, 'refused sends are counted');
  // In the window the kernel refused none (before it, sends to the previous test's closed sockets may fail).
  assert.equal(r.server.udp_send_errors, 0, JSON.stringify(r.server));
});


test('with 5 % loss each way, NACKs and retransmissions recover almost everything', async (t) => {
  udpLoss(t, 'vmbenchloss', `${RTC_MIN_PORT}-${RTC_MAX_PORT}`, 5);
  const r = await scenario('loss', ['--meeting', '2', '--duration', '6', '--join-rate', '10']);
  assert.equal(r.sessions.ready, 2);
  console.log(`# bench under 5 % loss each way: ${JSON.stringify(r.bench)}; server ${JSON.stringify(r.server)}`);
  assert.ok(r.bench.nacks_sent > 0, 'the receivers NACKed downstream losses');
  assert.ok(r.server.retransmissions > 0, 'the SFU answered from its cache');
  assert.ok(r.bench.rx_recovered > 0, 'RTX filled gaps at the receivers');
  assert.ok(r.bench.nacks_received > 0 && r.bench.retransmissions_sent > 0,
    'the SFU NACKed upstream losses and the publishers resent');
  // Video is NACKed (and RTX resent) end to end. Audio is NACKed by the SFU upstream (the bench
  // publisher resends) but not by receivers (like a browser's Opus), so its downstream 5 % stays
  // lost: over 600-700 packets that is 5 % with a standard deviation of 0.9 % (3.1-6.6 % measured),
  // and 9 % is over four deviations above; were the upstream losses not repaired either, audio would
  // lose ~9.75 %. (Session 15 bounded the two kinds together below 4 %, only ~2.6 deviations above
  // their mean of ~2.8 %: a clean-clone run had 4.13 %.)
  const tracks = r.per_session.flatMap((s) => s.tracks);
  const loss = (kind) => {
    const of = tracks.filter((tr) => tr.kind === kind);
    const expected = of.reduce((n, tr) => n + tr.expected, 0);
    const unique = of.reduce((n, tr) => n + tr.unique, 0);
    assert.ok(expected > 0, `${kind} packets expected`);
    return { expected, lost: expected - unique, percent: (100 * (expected - unique)) / expected };
  };
  const video = loss('video');
  const audio = loss('audio');
  console.log(`# residual loss: video ${JSON.stringify(video)}, audio ${JSON.stringify(audio)}`);
  assert.ok(video.percent < 1, `residual video loss ${video.percent.toFixed(2)} % (5 % was dropped each way)`);
  assert.ok(audio.percent < 9, `residual audio loss ${audio.percent.toFixed(2)} % (5 % was dropped each way, downstream not repaired)`);
});

// 600 kbit/s at 15 fps gives layers of ~53 (q), ~176 (h) and up to 600 (f) kbit/s; f was measured
// at ~330 kbit/s in some runs (unpoliced receivers getting 376 kbit/s with audio), which fits a 400
// kbit/s policer, so the policer is at 280 kbit/s (200 ms of burst): room for h and audio, never
// for f. One temporal layer: with three, the SFU may rightly give f at a quarter of its frame rate
// (240 kbit/s) to a policed receiver, which is not what this test is about. The receivers start on
// the top layer; the policed ones lose most of it, their estimate drops and comes back at the
// loss-based pace (8 %/s), so the window starts 20 s after the joins.
test('simulcast with policed receivers: the policed ones get lower layers, the others the top one', async () => {
  const r = await scenario('simulcast-police', ['--webinar', '4', '--simulcast', '--police-kbps', '280',
    '--police-count', '2', '--police-burst-ms', '200', '--temporal-layers', '1', '--seed', '1', '--duration', '8',
    '--settle', '20', '--join-rate', '10']);
  console.log(`# simulcast, 2 of 4 receivers policed to 400 kbit/s: ${JSON.stringify(r.receivers)}`);
  assert.deepEqual({ planned: r.sessions.planned, ready: r.sessions.ready, failed: r.sessions.failed },
    { planned: 5, ready: 5, failed: 0 });
  assert.equal(r.scenario.simulcast, true);
  assert.ok(r.bench.twcc_sent > 0, 'the receivers sent transport-cc feedback');
  assert.ok(r.totals.police_dropped > 0, 'the policers dropped what exceeded them');
  const pub = r.per_session.find((s) => s.publishes);
  assert.ok(pub.sent.keyframes >= 3, `a keyframe per layer at least: ${pub.sent.keyframes}`);
  const subs = r.per_session.filter((s) => !s.publishes);
  const policed = subs.filter((s) => s.policed);
  assert.equal(policed.length, 2);
  // The layer shown on average over the window (q 0, h 1, f 2), and the share of the time on f. A
  // busy machine (this ASan build next to other jobs) may make the SFU see queueing and move an
  // unpoliced receiver down for a while: "mostly" is asserted, not "always".
  const rank = { q: 0, h: 1, f: 2 };
  const video = (s) => s.tracks.find((t) => t.kind === 'video').window;
  const shownTotal = (w) => Object.values(w.shown_s).reduce((a, b) => a + b, 0);
  const meanLayer = (w) => Object.entries(w.shown_s).reduce((a, [l, t]) => a + rank[l] * t, 0) / shownTotal(w);
  const topShare = (w) => (w.shown_s.f || 0) / shownTotal(w);
  for (const s of subs) {
    const w = video(s);
    assert.ok(w.fps > 0 && shownTotal(w) > 0, `${s.name} decodes video: ${JSON.stringify(w)}`);
    if (s.policed) {
      assert.ok(s.policed.seen > 0, `${s.name}: its policer saw the traffic`);
      // by the share of the time, not by the layer at the end: the estimate goes above a policer now
      // and then (its bucket lets a probe through), then comes down; seen here up to 31 % of 8 s
      assert.ok(topShare(w) < 0.5, `${s.name} (policed) is shown the top layer less than half the time: ${JSON.stringify(w)}`);
    } else {
      assert.ok(topShare(w) >= 0.5, `${s.name} is shown the top layer most of the time: ${JSON.stringify(w)}`);
    }
  }
  const worstUnpoliced = Math.min(...subs.filter((s) => !s.policed).map((s) => meanLayer(video(s))));
  const bestPoliced = Math.max(...policed.map((s) => meanLayer(video(s))));
  assert.ok(bestPoliced < worstUnpoliced, `policed ${bestPoliced} < unpoliced ${worstUnpoliced} (mean layer shown)`);
  // The class summary counts the same receivers.
  assert.equal(r.receivers.policed.receivers, 2);
  assert.equal(r.receivers.unpoliced.receivers, 2);
  assert.equal(r.receivers.policed.video_tracks, 2);
});

// The meeting50 scenario, small: 10 bench participants, each showing 4 tiles like the web app's
// speaker view (the active speaker large, 3 in the strip; its own tile is one of them) and telling
// the SFU with video-views; they speak in turns of 1.5 s (--audio-turn-ms). What a receiver gets must
// fit its tiles: in any second at most 4 + 1 video streams (+1: the second in which the speaker
// changes, the old tile's last packets and the new one's first), and no video of a hidden tile that
// its publisher sent more than 0.5 s after the tile was hidden. Every turn that began in the window must be announced to every other receiver, naming
// the participant whose turn it is, and the switch latency must be reported. The kernel floor of the
// same traffic runs after it (--with-floor, part of the scenario). The DTX variant: the silent
// participants' audio is a packet per 400 ms, not 50 a second, which keeps the ASan server and bench
// (9 x 10 audio streams otherwise) far from losing consent on a busy machine. No timing assertions.
test('meeting50 scenario, small (10 participants x 4 tiles): forwarding fits the tiles, the active speaker follows the turns', async () => {
  const r = await scenario('meeting-tiles', ['--scenario', 'meeting50-dtx', '--meeting', '10', '--tiles', '4',
    '--audio-turn-ms', '1500', '--duration', '6', '--settle', '3', '--join-rate', '10', '--seed', '1']);
  const m = r.meeting;
  console.log(`# meeting 10 x 4 tiles: ${JSON.stringify({ ...m, kernel_floor: r.kernel_floor })}`);
  assert.equal(r.scenario.name, 'meeting50-dtx');
  assert.equal(r.scenario.simulcast, true, 'from the scenario');
  assert.equal(r.scenario.audio_dtx, true, 'from the scenario');
  assert.equal(r.scenario.bitrate_kbps, 300, 'an option given as well overrides the scenario');
  assert.deepEqual({ planned: r.sessions.planned, ready: r.sessions.ready, failed: r.sessions.failed },
    { planned: 10, ready: 10, failed: 0 });
  assert.equal(m.tiles, 4);
  assert.equal(m.receivers, 10);
  assert.equal(m.video_streams_limit, 5);
  assert.ok(m.views_sent >= 10, `every receiver told the SFU what it shows: ${m.views_sent} video-views`);
  for (const s of r.per_session) {
    assert.ok(s.tiles, `${s.name} has its tiles' figures`);
    assert.ok(s.tiles.video_streams_max >= 1 && s.tiles.video_streams_max <= 5,
      `${s.name}: ${s.tiles.video_streams_max} video streams in one second (4 tiles)`);
    assert.equal(s.tiles.hidden_late_packets, 0, `${s.name}: no video sent over 0.5 s after its tile was hidden`);
    assert.ok(s.tiles.video_kbps > 0 && s.tiles.downlink_kbps > s.tiles.video_kbps, `${s.name}: video and audio`);
  }
  assert.ok(m.downlink_kbps.min > 0 && m.downlink_kbps.min <= m.downlink_kbps.median &&
    m.downlink_kbps.median <= m.downlink_kbps.max);
  // The active speaker follows the turns: each turn is announced once to each of the 9 others.
  const sp = m.speaker;
  assert.equal(sp.turn_ms, 1500);
  assert.ok(sp.turns_in_window >= 2, `${sp.turns_in_window} turns in the window`);
  assert.equal(sp.switches_expected, sp.turns_in_window * 9);
  assert.equal(sp.switches, sp.switches_expected, 'every turn reached every other receiver');
  assert.equal(sp.to_current_turn, sp.switches, 'every switch named the participant whose turn it was');
  assert.equal(sp.latency_ms.samples, sp.switches);
  assert.ok(sp.latency_ms.p50 > 0 && sp.latency_ms.p50 <= sp.latency_ms.p95 && sp.latency_ms.p95 <= sp.latency_ms.max);
  // The kernel floor of the same traffic: 10 subscribers, 9 audio + 3 video streams each.
  const f = r.kernel_floor;
  assert.deepEqual({ subscribers: f.subscribers, audio: f.audio_streams, video: f.video_streams, dtx: f.audio_dtx },
    { subscribers: 10, audio: 9, video: 3, dtx: true });
  assert.ok(f.cpu_us_per_datagram > 0 && f.datagrams_per_s > 0);
  assert.ok(f.server_ratio > 0, 'the server figure against the floor');
});

test('with no server to talk to the bench fails instead of reporting nothing', async () => {
  const port = await freePort();
  const r = await bench(['--url', `http://127.0.0.1:${port}`, '--meeting', '2', '--duration', '1', '--settle', '0',
    '--join-timeout', '5', '--quiet'], 60000);
  assert.equal(r.code, 1, `exit code ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /sessions ready \/ planned \/ failed\s+0 \/ 2/);
});

for (const [oneSocket, busy, uring] of [[false, false, false], [true, false, false], [false, true, false], [false, false, true]]) {
  test(`the kernel floor (${oneSocket ? 'one socket, sendmmsg' : 'a socket per subscriber'}${busy ? ', busy receiver' : ''}${uring ? ', io_uring' : ''}) sends the webinar's traffic to every subscriber`, async (t) => {
    const out = path.join(tmp, `floor-${oneSocket}-${busy}-${uring}.json`);
    const r = await bench(['--kernel-floor', '--webinar', '5', '--duration', '1', '--bitrate', '300', '--fps', '15',
      '--json', out, ...(oneSocket ? ['--floor-one-socket'] : []), ...(busy ? ['--floor-busy-receiver'] : []),
      ...(uring ? ['--floor-io-uring'] : [])], 60000);
    if (uring && r.code !== 0 && /io_uring unavailable/.test(r.stderr)) {
      t.skip(`this kernel refuses io_uring: ${r.stderr.trim()}`);
      return;
    }
    assert.equal(r.code, 0, `exit code ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /AddressSanitizer|LeakSanitizer|runtime error:/, r.stderr);
    assert.match(r.stdout, /kernel floor .* sender CPU [\d.]+ us per datagram/);
    const f = JSON.parse(fs.readFileSync(out, 'utf8')).kernel_floor;
    assert.equal(f.one_socket, oneSocket);
    assert.equal(f.busy_receiver, busy);
    assert.equal(f.io_uring, uring);
    assert.equal(f.subscribers, 5);
    // 15 frames + 50 audio packets per second, each to 5 subscribers (batches may merge a frame and
    // an audio packet due at the same moment).
    assert.ok(f.batches >= 40 && f.batches <= 70, `${f.batches} batches in ~1 s`);
    assert.ok(f.datagrams >= 5 * f.batches, `${f.datagrams} datagrams for ${f.batches} batches`);
    assert.equal(f.refused, 0);
    assert.ok(f.received >= f.datagrams, `received ${f.received} of ${f.datagrams} (+ the warm-up)`);
    if (oneSocket) assert.equal(f.send_calls, f.batches, 'one sendmmsg per batch');
    else assert.ok(f.send_calls >= 5 * f.batches && f.send_calls < f.datagrams, `${f.send_calls} calls`);
    // the system calls: one per send, or one io_uring submit per batch for every subscriber's sends
    assert.equal(f.send_syscalls, uring ? f.batches : f.send_calls);
    assert.ok(f.cpu_us_per_datagram > 0);
    assert.ok(f.fanout_delay_ms.p99 >= f.fanout_delay_ms.p50);
  });
}
