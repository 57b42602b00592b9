// Media through the SFU, with real Chromium on both ends (fake camera and microphone): what one
// browser sends reaches the others through the server, decoded.
//
// - three browsers: each decodes video and receives audio from both others, over exactly one
//   sending peer connection whose remote candidate is the SFU; a late fourth decodes everyone's
//   video quickly (keyframe requests); leaving, muting and camera-off keep the others' media
//   flowing and show in the UI;
// - 5 % packet loss on loopback (nftables in this private network namespace): video keeps decoding,
//   receivers NACK and the SFU retransmits, and the SFU NACKs the publishers' losses;
// - garbage UDP and RTP with a bad SRTP tag sent to the SFU's port during a call are dropped and
//   counted, and the call goes on.
//
// Timings (join → first decoded frame, per browser) are printed for the issue notes; the waits use
// the bounds the product promises (5 s for the first meeting; 2 s for a late joiner, waited for up
// to 4 s because of the shared cores).
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import { startServer, serverBin } from '../lib/server.mjs';
import {
  launchBrowser, byTestId, smallCamera, spyOnPeerConnections, createMeeting as newMeeting, sendingConnections, received,
} from './browser.mjs';
import { eventually, sleep } from '../lib/wait.mjs';
import { udpLoss } from '../lib/nft.mjs';

const RTC_MIN_PORT = 46000;
const RTC_MAX_PORT = 46199;
let server;

before(async () => {
  // A short grace period for a repair (PROTOCOL.md "Reconnecting"): a vanished browser goes 5 s after
  // its ICE consent expired.
  server = await startServer({ RTC_MIN_PORT: String(RTC_MIN_PORT), RTC_MAX_PORT: String(RTC_MAX_PORT),
    RECONNECT_GRACE_SECONDS: '5' });
});

after(async () => {
  if (server) await server.stop();
});

const tileOf = (page, username) => page.locator(`[data-testid="tile"][data-username="${username}"]`);

async function person(t, name) {
  const b = await launchBrowser({
    name, initScript: [smallCamera, spyOnPeerConnections],
    extraArgs: ['--autoplay-policy=no-user-gesture-required'],
  });
  t.after(() => b.close());
  return b;
}

const createMeeting = () => newMeeting(server.url);

/** Opens the meeting link, joins with a name, waits for the meeting page. Returns the join time. */
async function join(b, meetingId, name) {
  const { page } = b;
  await page.goto(`${server.url}/m/${meetingId}`);
  await byTestId(page, 'name-input').fill(name);
  const t0 = Date.now();
  await byTestId(page, 'join-now').click();
  await byTestId(page, 'meeting-page').waitFor({ state: 'visible' });
  return t0;
}

/** Waits until page decodes video and receives audio from every name in `from`. */
async function waitDecoding(page, from, timeout) {
  return eventually(async () => {
    const r = await received(page);
    for (const name of from) {
      assert.ok(r[name]?.video?.frames > 0, `no decoded video from ${name}: ${JSON.stringify(r)}`);
      assert.ok(r[name]?.audio?.packets > 0, `no audio from ${name}: ${JSON.stringify(r)}`);
    }
    return r;
  }, timeout, 50);
}

/** Asserts that video frames and audio packets from every name in `from` keep rising. */
async function assertFlowing(page, from, label) {
  const before = await received(page);
  await eventually(async () => {
    const now = await received(page);
    for (const name of from) {
      assert.ok(now[name]?.video?.frames > (before[name]?.video?.frames ?? 0),
        `${label}: video from ${name} stopped: ${JSON.stringify(now[name])}`);
      assert.ok(now[name]?.audio?.packets > (before[name]?.audio?.packets ?? 0),
        `${label}: audio from ${name} stopped: ${JSON.stringify(now[name])}`);
    }
  }, 5000, 200);
}

/** CPU seconds the server process has used so far (utime + stime from /proc). */
function serverCpuSeconds() {
  const stat = fs.readFileSync(`/proc/${server.proc.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks; USER_HZ is 100 on Linux
}

async function metrics() {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^videomeet_([a-z_]+)(?:\{state="([a-z]+)"\})? ([0-9.e+-]+)$/.exec(line);
    if (m) out[m[2] ? `${m[1]}_${m[2]}` : m[1]] = Number(m[3]);
  }
  return out;
}

function assertNoPageErrors(...browsers) {
  const errs = browsers.flatMap((b) => b.errors);
  assert.deepEqual(errs, [], `errors in the pages:\n${errs.join('\n')}`);
}

test('three browsers see and hear each other through the SFU; a late joiner, leave, mute, camera off', async (t) => {
  const id = await createMeeting();
  const names = ['Ana', 'Ben', 'Cem'];
  const people = {};
  for (const name of names) people[name] = await person(t, name);
  const cpu0 = serverCpuSeconds();
  const wall0 = Date.now();
  let lastJoin = 0;
  for (const name of names) lastJoin = await join(people[name], id, name);
  // Within 5 s of the last join, everyone decodes video and receives audio from both others.
  const firstFrame = {};
  await Promise.all(names.map(async (name) => {
    const others = names.filter((n) => n !== name);
    await waitDecoding(people[name].page, others, 5000);
    firstFrame[name] = Date.now() - lastJoin;
  }));
  console.log(`# last join → each browser decoding both others (ms): ${JSON.stringify(firstFrame)}`);
  for (const name of names) {
    await assertFlowing(people[name].page, names.filter((n) => n !== name), `${name} (3 people)`);
    // Each remote tile plays the participant's video and (unmuted) audio.
    for (const other of names.filter((n) => n !== name)) {
      await eventually(async () => {
        const v = await tileOf(people[name].page, other).locator('video').evaluate((el) => ({
          playing: !el.paused && el.readyState >= 2 && el.videoWidth > 0, muted: el.muted,
          audio: el.srcObject ? el.srcObject.getAudioTracks().filter((tr) => tr.readyState === 'live').length : 0,
        }));
        assert.deepEqual(v, { playing: true, muted: false, audio: 1 }, `${name}'s tile of ${other}`);
      });
    }
    // Exactly one connection sends our media, and its other end is the SFU.
    const sending = await sendingConnections(people[name].page);
    assert.equal(sending.length, 1, `${name} sends on ${sending.length} connections: ${JSON.stringify(sending)}`);
    const { remote } = sending[0];
    assert.equal(remote.address, '127.0.0.1');
    assert.ok(remote.port >= RTC_MIN_PORT && remote.port <= RTC_MAX_PORT,
      `${name}'s sending connection goes to port ${remote.port}, not the SFU's range`);
  }
  const m1 = await metrics();
  assert.equal(m1.peer_connections_connected, 6, `two connections per browser: ${JSON.stringify(m1)}`);
  assert.ok(m1.rtp_packets_out_total > m1.rtp_packets_in_total,
    `each packet in goes out to two subscribers: ${JSON.stringify(m1)}`);
  // Server CPU over the joins and 10 s of the three-way call (for the issue notes, not asserted).
  await sleep(10000);
  const m1b = await metrics();
  const cpu = serverCpuSeconds() - cpu0;
  const wall = (Date.now() - wall0) / 1000;
  console.log(`# server CPU, three browsers joining + 10 s of call: ${cpu.toFixed(2)} s over ${wall.toFixed(1)} s ` +
    `(${(100 * cpu / wall).toFixed(1)} % of one core; RTP ${m1b.rtp_packets_in_total} in, ${m1b.rtp_packets_out_total} out)`);

  // A late fourth decodes everyone's video soon after entering the meeting: the SFU asks the
  // publishers for keyframes. The product aims at 2 s; the wait allows 4 s because four browsers and
  // a sanitizer build share two cores here (the measured time is printed; the bench measures the
  // keyframe delay without that noise).
  people.Dan = await person(t, 'Dan');
  const { page: dan } = people.Dan;
  await dan.goto(`${server.url}/m/${id}`);
  await byTestId(dan, 'name-input').fill('Dan');
  await byTestId(dan, 'join-now').click();
  await byTestId(dan, 'meeting-page').waitFor({ state: 'visible' });
  const t0 = Date.now();
  await waitDecoding(dan, names, 4000);
  console.log(`# late joiner: meeting page → decoding all three: ${Date.now() - t0} ms`);
  const m2 = await metrics();
  assert.ok(m2.plis_sent_total > m1.plis_sent_total, 'the SFU asked the publishers for keyframes');

  // Ana, the first to join, leaves: her tile goes away everywhere and the others' media keeps
  // flowing (her m-lines came first on everyone's receiving connection, where the BUNDLE
  // transport lives).
  await byTestId(people.Ana.page, 'leave-button').click();
  for (const name of ['Ben', 'Cem', 'Dan']) {
    await tileOf(people[name].page, 'Ana').waitFor({ state: 'detached' });
  }
  await assertFlowing(people.Ben.page, ['Cem', 'Dan'], 'Ben after Ana left');
  await assertFlowing(people.Cem.page, ['Ben', 'Dan'], 'Cem after Ana left');
  await assertFlowing(people.Dan.page, ['Ben', 'Cem'], 'Dan after Ana left');

  // Ben mutes, then turns his camera off: the others show it; his tile shows the avatar.
  await byTestId(people.Ben.page, 'mute-button').click();
  for (const name of ['Cem', 'Dan']) {
    await eventually(async () => {
      assert.equal(await tileOf(people[name].page, 'Ben').getAttribute('data-muted'), 'true');
      assert.ok(await tileOf(people[name].page, 'Ben').locator('[data-testid="tile-muted"]').isVisible());
    });
  }
  await byTestId(people.Ben.page, 'camera-button').click();
  for (const name of ['Cem', 'Dan']) {
    await eventually(async () => {
      assert.equal(await tileOf(people[name].page, 'Ben').getAttribute('data-camera-off'), 'true');
      assert.ok(await tileOf(people[name].page, 'Ben').locator('[data-testid="tile-avatar"]').isVisible());
    });
  }
  // Cem and Dan still get each other's media.
  await assertFlowing(people.Cem.page, ['Dan'], 'Cem after Ben turned off');
  await assertFlowing(people.Dan.page, ['Cem'], 'Dan after Ben turned off');
  assertNoPageErrors(...Object.values(people));
});


test('with 5 % packet loss, video keeps decoding, NACKs are answered and the SFU NACKs publishers', async (t) => {
  const id = await createMeeting();
  const a = await person(t, 'Lia');
  const b = await person(t, 'Max');
  await join(a, id, 'Lia');
  await join(b, id, 'Max');
  await waitDecoding(a.page, ['Max'], 5000);
  await waitDecoding(b.page, ['Lia'], 5000);
  const m0 = await metrics();
  // 5 % of what the SFU sends (downstream) and 5 % of what it receives (upstream).
  udpLoss(t, 'vmloss', `${RTC_MIN_PORT}-${RTC_MAX_PORT}`, 5);
  const before = { a: await received(a.page), b: await received(b.page) };
  await sleep(6000);
  await assertFlowing(a.page, ['Max'], 'Lia under loss');
  await assertFlowing(b.page, ['Lia'], 'Max under loss');
  const after = { a: await received(a.page), b: await received(b.page) };
  const m1 = await metrics();
  const nacks = after.a.Max.video.nack - before.a.Max.video.nack + after.b.Lia.video.nack - before.b.Lia.video.nack;
  console.log(`# under 5 % loss: receivers sent ${nacks} NACKs; SFU: nacks received ${m1.nacks_received_total - m0.nacks_received_total}, ` +
    `retransmissions ${m1.retransmissions_total - m0.retransmissions_total}, NACKs to publishers ${m1.nacks_sent_total - m0.nacks_sent_total}`);
  assert.ok(nacks > 0, 'the receivers sent NACKs');
  assert.ok(m1.nacks_received_total > m0.nacks_received_total, 'the SFU received NACKs');
  assert.ok(m1.retransmissions_total > m0.retransmissions_total, 'the SFU retransmitted from its cache');
  assert.ok(m1.nacks_sent_total > m0.nacks_sent_total, 'the SFU NACKed the publishers for upstream losses');
  const retx = after.a.Max.video.retx + after.b.Lia.video.retx;
  assert.ok(retx > 0, `retransmitted packets arrived at the receivers: ${JSON.stringify(after)}`);
  assertNoPageErrors(a, b);
});

test('garbage UDP and RTP with a bad SRTP tag are dropped and counted; the call goes on', async (t) => {
  const id = await createMeeting();
  const a = await person(t, 'Noa');
  const b = await person(t, 'Oli');
  await join(a, id, 'Noa');
  await join(b, id, 'Oli');
  await waitDecoding(a.page, ['Oli'], 5000);
  await waitDecoding(b.page, ['Noa'], 5000);
  const [conn] = await sendingConnections(a.page);
  assert.ok(conn && conn.local && conn.remote, 'Noa has a selected candidate pair');
  const m0 = await metrics();
  // The SFU's ICE layer passes on only datagrams from the browser's validated address, so the
  // tool sends them from it (a raw socket; we are root in this namespace).
  const inject = path.join(path.dirname(serverBin), 'udp_inject');
  for (const kind of ['garbage', 'rtp-bad-tag']) {
    execFileSync(inject, [conn.local.address, String(conn.local.port), conn.remote.address, String(conn.remote.port), kind, '300']);
  }
  await eventually(async () => {
    const m1 = await metrics();
    assert.ok(m1.dropped_bad_srtp_total - m0.dropped_bad_srtp_total >= 300,
      `bad SRTP counted: ${m1.dropped_bad_srtp_total - m0.dropped_bad_srtp_total}`);
    assert.ok(m1.dropped_malformed_total - m0.dropped_malformed_total >= 100,
      `garbage counted: ${m1.dropped_malformed_total - m0.dropped_malformed_total}`);
  });
  await assertFlowing(a.page, ['Oli'], 'Noa after the garbage');
  await assertFlowing(b.page, ['Noa'], 'Oli after the garbage');
  assert.ok(server.isRunning());
  assertNoPageErrors(a, b);
});

/** Stops (SIGSTOP) or resumes (SIGCONT) every process of one browser: a browser that vanished. */
function signalBrowser(b, signal) {
  let pids = '';
  try {
    pids = execFileSync('pgrep', ['-f', '--', `--user-data-dir=${b.profileDir}`], { encoding: 'utf8' });
  } catch {
    return 0; /* none left */
  }
  const list = pids.split('\n').filter(Boolean).map(Number);
  for (const pid of list) {
    try {
      process.kill(pid, signal);
    } catch { /* it exited meanwhile */ }
  }
  return list.length;
}

test('a browser that vanishes is dropped once ICE consent expires and the grace period for a repair passes, and the others are told', async (t) => {
  const id = await createMeeting();
  const a = await person(t, 'Pia');
  const b = await person(t, 'Quin');
  await join(a, id, 'Pia');
  await join(b, id, 'Quin');
  await waitDecoding(a.page, ['Quin'], 5000);
  await waitDecoding(b.page, ['Pia'], 5000);
  // Quin's browser freezes: it answers nothing any more, neither ICE checks nor WebSocket pings
  // (its kernel still keeps the TCP connection open, so only the media plane can tell).
  assert.ok(signalBrowser(b, 'SIGSTOP') > 0, 'found the browser processes');
  t.after(() => signalBrowser(b, 'SIGCONT'));
  const t0 = Date.now();
  // Frozen, the browser cannot leave by itself: only the SFU's ICE layer (connectivity and
  // consent checks, RFC 7675) can notice, well before the WebSocket's own timeout (20 s + 45 s); the
  // others see it reconnecting, then (no ICE restart comes) leaving.
  await tileOf(a.page, 'Quin').locator('[data-testid="tile-reconnecting"]').waitFor({ state: 'visible', timeout: 45000 });
  console.log(`# vanished browser marked reconnecting after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await tileOf(a.page, 'Quin').waitFor({ state: 'detached', timeout: 45000 });
  const gone = (Date.now() - t0) / 1000;
  console.log(`# vanished browser dropped after ${gone.toFixed(1)} s`);
  const m = await metrics();
  assert.ok(m.ice_failures_total >= 1, 'the drop came from an ICE failure');
  assert.equal(await byTestId(a.page, 'participant-count').textContent(), '1');
});

test('a browser whose DTLS certificate does not match its SDP fingerprint is refused', async (t) => {
  const a = await person(t, 'Rex');
  await a.page.goto(server.url);
  // A hand-driven publishing connection whose offer carries a wrong a=fingerprint.
  const result = await a.page.evaluate(async ({ wsUrl, meetingId }) => {
    const ws = new WebSocket(wsUrl);
    const inbox = [];
    let wake = null;
    ws.onmessage = (e) => { inbox.push(JSON.parse(e.data)); if (wake) wake(); };
    const closed = new Promise((r) => { ws.onclose = (e) => r(e.code); });
    await new Promise((r) => { ws.onopen = r; });
    const next = async (pred, ms = 20000) => {
      const end = Date.now() + ms;
      for (;;) {
        const i = inbox.findIndex(pred);
        if (i >= 0) return inbox.splice(i, 1)[0];
        if (Date.now() > end) throw new Error(`timeout; got ${JSON.stringify(inbox)}`);
        await new Promise((r) => { wake = r; setTimeout(r, 100); });
      }
    };
    const send = (m) => ws.send(JSON.stringify(m));
    send({ type: 'join-meeting', meetingId, username: 'Rex' });
    await next((m) => m.type === 'existing-users');
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
    pc.onicecandidate = (e) => send({ type: 'ice-candidate', pc: 'up', candidate: e.candidate ? e.candidate.candidate : null });
    await pc.setLocalDescription(await pc.createOffer());
    // Flip the last byte of the fingerprint: the certificate DTLS will present no longer matches.
    const sdp = pc.localDescription.sdp.replace(/(a=fingerprint:sha-256 (?:[0-9A-F]{2}:){31})([0-9A-F]{2})/g,
      (m, head, last) => head + ((parseInt(last, 16) ^ 0xff).toString(16).toUpperCase().padStart(2, '0')));
    send({ type: 'offer', pc: 'up', sdp });
    const answer = await next((m) => m.type === 'answer');
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    const err = await next((m) => m.type === 'error');
    return { code: err.code, message: err.message, close: await closed, pcState: pc.connectionState };
  }, { wsUrl: server.wsUrl, meetingId: await createMeeting() });
  assert.equal(result.code, 'media-failed', JSON.stringify(result));
  assert.match(result.message, /fingerprint/);
  assert.equal(result.close, 1011);
  const m = await metrics();
  assert.ok(m.dtls_failures_total >= 1, 'the DTLS failure was counted');
  assert.ok(server.isRunning());
});
