// The UDP port range as a limit (PROTOCOL.md, Errors: server-busy; README, Docker): every participant
// holds two ports of RTC_MIN_PORT..RTC_MAX_PORT, so a range of 4 ports carries 2 participants across
// all meetings. The next joiner gets `server-busy` with reason `media-ports` and stays out; a
// connection that finds no free port anyway (here: another program holds the range) takes its
// participant out of the meeting with the same error. The participants already in, and the other
// meetings, go on; /metrics counts both stages.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, repoRoot } from '../lib/server.mjs';
import { connect, connectAndJoin, closeAll, randomMeetingId } from './client.mjs';

const MIN = 47200;
const MAX = 47203; // 4 ports: 2 participants
const T = { timeout: 30000 };
const offerText = fs.readFileSync(path.join(repoRoot, 'tests/data/sdp/chromium-offer-sendonly.sdp'), 'utf8');

/** The /metrics samples whose name (with labels) starts with `prefix`, as {series: value}. */
async function metrics(srv, prefix) {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const out = {};
  for (const line of text.split('\n')) {
    if (line.startsWith(prefix)) out[line.slice(0, line.lastIndexOf(' '))] = Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

/** Sends the captured Chromium offer on `up` and waits for the answer and a host candidate in the range. */
async function publish(c) {
  c.send({ type: 'offer', pc: 'up', sdp: offerText });
  const answer = await c.next('answer');
  assert.equal(answer.pc, 'up');
  const cand = await c.next('ice-candidate');
  const port = Number(cand.candidate.split(' ')[5]);
  assert.ok(port >= MIN && port <= MAX, `candidate port ${port} in ${MIN}-${MAX}: ${cand.candidate}`);
}

/** Asserts c gets `server-busy` with reason `media-ports` (and the given ref, or none) and stays open. */
async function expectNoPorts(c, ref) {
  const e = await c.expectError('server-busy', ref);
  assert.equal(e.reason, 'media-ports', JSON.stringify(e));
  if (ref === undefined) assert.equal('ref' in e, false, JSON.stringify(e));
  await c.ping(); // the socket stays open and served
}

describe('the UDP port range as a limit', { timeout: 120000 }, () => {
  test('the joiner past the range gets server-busy (media-ports); those in and other meetings go on', T, async () => {
    const srv = await startServer({ RTC_MIN_PORT: String(MIN), RTC_MAX_PORT: String(MAX) });
    const clients = [];
    try {
      assert.match(srv.output(), /UDP ports 47200-47203 carry 2 participant\(s\)/);
      const m1 = randomMeetingId();
      const m2 = randomMeetingId();
      const { client: a } = await connectAndJoin(srv.wsUrl, m1, 'A');
      const { client: b } = await connectAndJoin(srv.wsUrl, m2, 'B'); // another meeting: the range is shared
      clients.push(a, b);
      await publish(a);

      const c = await connect(srv.wsUrl, { name: 'C' });
      clients.push(c);
      c.send({ type: 'join-meeting', meetingId: m1, username: 'C' });
      await expectNoPorts(c, 'join-meeting');
      await a.expectNone('user-joined');
      const h = await (await fetch(`${srv.url}/healthz`)).json();
      assert.equal(h.participants, 2);
      c.send({ type: 'chat-message', message: 'am I in?' }); // not half-joined: in no meeting at all
      await c.expectError('not-in-meeting', 'chat-message');

      b.send({ type: 'chat-message', message: 'still here' });
      assert.equal((await b.next('receive-message')).message, 'still here');
      assert.deepEqual(await metrics(srv, 'videomeet_port_range_exhausted_total'), {
        'videomeet_port_range_exhausted_total{stage="join"}': 1,
        'videomeet_port_range_exhausted_total{stage="gather"}': 0,
      });
      const g = await metrics(srv, 'videomeet_rtc_ports');
      assert.equal(g.videomeet_rtc_ports_available, 4);
      assert.equal(g.videomeet_rtc_ports_reserved, 4);
      assert.equal(g.videomeet_rtc_ports_in_use, 1); // A's publishing connection

      // B leaves: its two ports are free again, and C gets in on the same socket.
      b.send({ type: 'leave-meeting' });
      await b.next('left');
      c.send({ type: 'join-meeting', meetingId: m1, username: 'C' });
      await c.next('existing-users');
      assert.equal((await a.next('user-joined')).user.username, 'C');
      await publish(c);
      assert.equal((await metrics(srv, 'videomeet_rtc_ports_in_use')).videomeet_rtc_ports_in_use >= 2, true);
    } finally {
      await closeAll(clients);
      await srv.stop();
    }
  });

  test('a connection that finds no free port takes its participant out with server-busy (media-ports)', T, async () => {
    const srv = await startServer({ RTC_MIN_PORT: String(MIN), RTC_MAX_PORT: String(MAX) });
    // Another program holds every port of the range on the SFU's address (RTC_IPS=127.0.0.1).
    const squatters = [];
    for (let p = MIN; p <= MAX; p++) {
      const sock = dgram.createSocket('udp4');
      await new Promise((resolve, reject) => { sock.once('error', reject); sock.bind(p, '127.0.0.1', resolve); });
      squatters.push(sock);
    }
    const clients = [];
    try {
      const m1 = randomMeetingId();
      const { client: a } = await connectAndJoin(srv.wsUrl, m1, 'A');
      const { client: b } = await connectAndJoin(srv.wsUrl, m1, 'B'); // the budget lets both in
      clients.push(a, b);
      a.send({ type: 'offer', pc: 'up', sdp: offerText });
      assert.equal((await a.next('answer')).pc, 'up');
      await expectNoPorts(a);
      const left = await b.next('user-left');
      assert.equal(left.userId, a.userId);
      assert.equal(left.reason, 'disconnected');
      await b.expectNone('offer'); // A's tracks are offered to nobody
      a.send({ type: 'chat-message', message: 'am I in?' });
      await a.expectError('not-in-meeting', 'chat-message');
      assert.equal((await (await fetch(`${srv.url}/healthz`)).json()).participants, 1);
      const x = await metrics(srv, 'videomeet_port_range_exhausted_total');
      assert.equal(x['videomeet_port_range_exhausted_total{stage="gather"}'], 1);
      assert.equal(x['videomeet_port_range_exhausted_total{stage="join"}'], 0);
      assert.equal((await metrics(srv, 'videomeet_rtc_ports_in_use')).videomeet_rtc_ports_in_use, 0);

      // The ports come free: A joins again on the same socket and publishes.
      await Promise.all(squatters.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
      a.send({ type: 'join-meeting', meetingId: m1, username: 'A' });
      await a.next('existing-users');
      await b.next('user-joined');
      await publish(a);
      b.send({ type: 'chat-message', message: 'welcome back' });
      assert.equal((await a.next('receive-message')).message, 'welcome back');
    } finally {
      for (const s of squatters) s.close();
      await closeAll(clients);
      await srv.stop();
    }
  });

  test('server-busy names the other limits too: meetings (stays open), connections (closed with 1013)', T, async () => {
    const srv = await startServer({ MAX_CONNECTIONS: '2', MAX_MEETINGS: '1' });
    const clients = [];
    try {
      const { client: a } = await connectAndJoin(srv.wsUrl, randomMeetingId(), 'A');
      const b = await connect(srv.wsUrl, { name: 'B' });
      clients.push(a, b);
      b.send({ type: 'join-meeting', meetingId: randomMeetingId(), username: 'B' });
      const e = await b.expectError('server-busy', 'join-meeting');
      assert.equal(e.reason, 'meetings', JSON.stringify(e));
      await b.ping();
      const c = await connect(srv.wsUrl, { name: 'C' });
      clients.push(c);
      const e2 = await c.expectError('server-busy');
      assert.equal(e2.reason, 'connections', JSON.stringify(e2));
      assert.equal((await c.waitClose()).code, 1013);
      // Neither counts as a want of media ports.
      assert.equal((await metrics(srv, 'videomeet_port_range_exhausted_total{stage="join"}'))['videomeet_port_range_exhausted_total{stage="join"}'], 0);
    } finally {
      await closeAll(clients);
      await srv.stop();
    }
  });
});
