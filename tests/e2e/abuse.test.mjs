// Abuse limits with real Chromium participants (README "Abuse limits"):
//
// - 40 abusive WebSockets from one address (behind a trusted proxy, so X-Forwarded-For names it) loop
//   join/leave on random meeting ids, as fast as the server answers, while two people create a
//   meeting from the landing page and join it: both get each other's audio and video; the attacker's
//   meetings stay a handful (10 a minute per address, each dropped 10 s after it emptied) instead of
//   filling the server, and /metrics counts its refusals;
// - a join that trickles 60 ICE candidates per connection (58 useless host candidates the test page
//   adds, then the browser's real ones) connects and media flows: candidates and SDP have their own
//   allowance, not the 20-a-second one of chat;
// - neither page logs a Content-Security-Policy violation (browser.mjs turns one into a page error).
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { connect, randomMeetingId, sleep } from '../protocol/client.mjs';
import { launchBrowser, byTestId, smallCamera, received, joinMeeting } from './browser.mjs';
import { eventually } from '../lib/wait.mjs';

const ATTACKER = '198.51.100.7';
let server;

before(async () => {
  server = await startServer({
    RTC_MIN_PORT: '47400', RTC_MAX_PORT: '47599',
    TRUSTED_PROXIES: '127.0.0.1',
    // the production defaults (tests/lib/server.mjs turns them off for the other suites)
    ADDRESS_MAX_CONNECTIONS: '50', ADDRESS_MEETINGS_PER_MINUTE: '10', ADDRESS_UNKNOWN_JOINS_PER_MINUTE: '30',
  });
});

after(async () => {
  if (server) await server.stop();
});

async function metrics() {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const get = (name) => {
    const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  };
  return { text, get };
}

async function health() {
  return (await fetch(`${server.url}/healthz`)).json();
}

/** Two Chromium participants in a meeting made from the landing page's "New meeting" button. */
async function meetingOfTwo(t, initScript = []) {
  const a = await launchBrowser({ name: 'A', initScript: [smallCamera, ...initScript] });
  t.after(() => a.close());
  await a.page.goto(server.url);
  await byTestId(a.page, 'new-meeting').click();
  await byTestId(a.page, 'setup-page').waitFor({ state: 'visible' });
  const meetingId = new URL(a.page.url()).pathname.split('/').pop();
  await byTestId(a.page, 'name-input').fill('A');
  await byTestId(a.page, 'join-now').click();
  await byTestId(a.page, 'meeting-page').waitFor({ state: 'visible' });
  const b = await launchBrowser({ name: 'B', initScript: [smallCamera, ...initScript] });
  t.after(() => b.close());
  await joinMeeting(b.page, server.url, meetingId, 'B');
  return { a, b, meetingId };
}

/** Waits until each page decodes video frames and receives audio from the other. */
async function mediaFlows(a, b) {
  await eventually(async () => {
    const ra = await received(a.page);
    const rb = await received(b.page);
    assert.ok(ra.B?.video?.frames > 10 && ra.B?.audio?.packets > 50, `A receives from B: ${JSON.stringify(ra)}`);
    assert.ok(rb.A?.video?.frames > 10 && rb.A?.audio?.packets > 50, `B receives from A: ${JSON.stringify(rb)}`);
  }, 40000, 500);
}

/** One abusive socket: join a random id, leave, again, until stopped; reconnects when closed. */
async function attacker(i, state) {
  while (!state.stop) {
    let c;
    try {
      c = await connect(server.wsUrl, { name: `attacker${i}`, headers: { 'X-Forwarded-For': ATTACKER } });
    } catch {
      state.connectFailures++;
      await sleep(100);
      continue;
    }
    try {
      while (!state.stop && !c.closeInfo) {
        c.send({ type: 'join-meeting', meetingId: randomMeetingId(), username: 'x' });
        const m = await c.next((x) => x.type === 'existing-users' || x.type === 'error', 5000);
        if (m.type === 'existing-users') {
          state.joined++;
          c.send({ type: 'leave-meeting' });
          await c.next('left', 5000);
        } else {
          state.errors[`${m.code}/${m.reason}`] = (state.errors[`${m.code}/${m.reason}`] || 0) + 1;
          if (m.code === 'rate-limited' && m.reason !== 'messages') {
            assert.ok(m.retryAfter >= 1, `retryAfter: ${JSON.stringify(m)}`);
          }
        }
      }
    } catch (err) {
      if (!c.closeInfo) state.failures.push(String(err.message).slice(0, 300));
    }
    await c.close().catch(() => {});
  }
}

test('40 abusive sockets loop join/leave on random ids; two people meet and get media meanwhile', { timeout: 180000 }, async (t) => {
  const state = { stop: false, joined: 0, errors: {}, failures: [], connectFailures: 0 };
  const loops = Array.from({ length: 40 }, (_, i) => attacker(i, state));
  let maxMeetings = 0;
  const watch = setInterval(async () => {
    try { maxMeetings = Math.max(maxMeetings, (await health()).meetings); } catch { /* next time */ }
  }, 250);
  try {
    await sleep(3000); // the attack is under way before anybody comes
    const { a, b } = await meetingOfTwo(t);
    await mediaFlows(a, b);
    // the attack went on the whole time
    await sleep(2000);
    assert.deepEqual(a.errors, [], a.errors.join('\n'));
    assert.deepEqual(b.errors, [], b.errors.join('\n'));
  } finally {
    state.stop = true;
    clearInterval(watch);
    await Promise.all(loops);
  }
  t.diagnostic(`attacker: ${state.joined} joins, refusals ${JSON.stringify(state.errors)}, most meetings at once ${maxMeetings}`);
  assert.deepEqual(state.failures, []);
  assert.equal(state.connectFailures, 0);
  // 10 meetings a minute from one address (a burst of 10, then one every 6 s): a handful, not thousands
  assert.ok(state.joined >= 10 && state.joined <= 20, `attacker joins: ${state.joined}`);
  // (its burst of 10, a refill or two while they wait out their 10 s, and the two people's meeting)
  assert.ok(maxMeetings <= 14, `meetings at once during the attack: ${maxMeetings}`);
  // after its 10 starts, its joins of unknown ids are refused; past 30 of those, every join is
  assert.ok(state.errors['rate-limited/meetings'] >= 10, JSON.stringify(state.errors));
  assert.ok(state.errors['rate-limited/unknown-meetings'] > 100, JSON.stringify(state.errors));
  const { get } = await metrics();
  assert.equal(get('videomeet_rate_limited_total{limit="meetings"}'), state.errors['rate-limited/meetings'] || 0);
  assert.equal(get('videomeet_rate_limited_total{limit="unknown-meetings"}'), state.errors['rate-limited/unknown-meetings'] || 0);
  // The attacker's meetings were never used: they go within MEETING_UNUSED_GRACE_SECONDS (10 s) of
  // their last leave; the two people's meeting (now empty) keeps the full grace period.
  await eventually(async () => assert.equal((await health()).meetings, 1), 20000, 500);
});

/** Init script: before the page's first candidate of each connection, 58 useless host candidates. */
function extraCandidates() {
  const send = WebSocket.prototype.send;
  const added = new Set();
  WebSocket.prototype.send = function (data) {
    try {
      const m = JSON.parse(data);
      if (m.type === 'ice-candidate' && m.candidate && !added.has(m.pc)) {
        added.add(m.pc);
        for (let i = 0; i < 58; i++) {
          const cand = `candidate:${900000 + i} 1 udp ${2113937151 - i} 192.0.2.${i + 1} ${50000 + i} typ host generation 0`;
          send.call(this, JSON.stringify({ ...m, candidate: cand }));
        }
        window.__extraCandidates = (window.__extraCandidates || 0) + 58;
      }
    } catch { /* not JSON */ }
    return send.call(this, data);
  };
}

test('a join that trickles 60 candidates per connection connects and gets media', { timeout: 120000 }, async (t) => {
  const before = await metrics();
  const { a, b } = await meetingOfTwo(t, [extraCandidates]);
  await mediaFlows(a, b);
  for (const p of [a, b]) {
    const extra = await p.page.evaluate(() => window.__extraCandidates);
    assert.equal(extra, 116, `${p.name}: the extra candidates of both connections were sent`);
  }
  const after = await metrics();
  for (const limit of ['messages', 'media-messages', 'candidates']) {
    const name = `videomeet_rate_limited_total{limit="${limit}"}`;
    assert.equal(after.get(name), before.get(name), `${name}: nothing was dropped`);
  }
  assert.deepEqual(a.errors, [], a.errors.join('\n'));
  assert.deepEqual(b.errors, [], b.errors.join('\n'));
});
