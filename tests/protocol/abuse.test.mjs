// Limits per client address (README "Abuse limits", PROTOCOL.md "Errors": rate-limited): WebSockets
// open at once, meetings started a minute, joins of meeting ids with no live meeting; the client
// address from X-Forwarded-For only behind a trusted proxy; a meeting that was never used goes soon
// after it empties; ICE candidates and SDP have their own allowance, bounded per connection; /metrics
// counts every refusal.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, repoRoot } from '../lib/server.mjs';
import { connect, closeAll, randomMeetingId, sleep } from './client.mjs';
import { eventually } from '../lib/wait.mjs';

const T = { timeout: 30000 };
const from = (addr) => (addr ? { headers: { 'X-Forwarded-For': addr } } : {});

async function metric(srv, name) {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)`, 'm').exec(text);
  assert.ok(m, `no ${name} in /metrics`);
  return Number(m[1]);
}

/** Sends join-meeting and resolves with the answer (existing-users or error). */
async function tryJoin(c, meetingId) {
  c.send({ type: 'join-meeting', meetingId, username: 'u' });
  return c.next((m) => m.type === 'existing-users' || m.type === 'error');
}

async function leave(c) {
  c.send({ type: 'leave-meeting' });
  await c.next('left');
}

function assertLimited(m, reason) {
  assert.equal(m.type, 'error', JSON.stringify(m));
  assert.equal(m.code, 'rate-limited', JSON.stringify(m));
  assert.equal(m.reason, reason, JSON.stringify(m));
  assert.ok(Number.isInteger(m.retryAfter) && m.retryAfter >= 1 && m.retryAfter <= 60, JSON.stringify(m));
  assert.ok(m.message.length > 0);
}

describe('limits per client address, behind a trusted proxy', { timeout: 120000 }, () => {
  let srv;
  before(async () => {
    srv = await startServer({
      TRUSTED_PROXIES: '127.0.0.1',
      ADDRESS_MAX_CONNECTIONS: '5', ADDRESS_MEETINGS_PER_MINUTE: '3', ADDRESS_UNKNOWN_JOINS_PER_MINUTE: '6',
      MEETING_UNUSED_GRACE_SECONDS: '1',
    });
  });
  after(async () => { if (srv) await srv.stop(); });

  test('WebSockets per address: the 6th is refused with rate-limited and closed 1013; others unaffected', T, async () => {
    const addr = '203.0.113.10';
    const open = [];
    for (let i = 0; i < 5; i++) open.push(await connect(srv.wsUrl, { name: `c${i}`, ...from(addr) }));
    for (const c of open) await c.ping();
    const refused = await connect(srv.wsUrl, { name: 'sixth', ...from(addr) });
    const e = await refused.next('error');
    assert.equal(e.code, 'rate-limited');
    assert.equal(e.reason, 'connections');
    assert.ok(e.retryAfter >= 1);
    assert.equal((await refused.waitClose()).code, 1013);
    // another address is not affected
    const other = await connect(srv.wsUrl, { name: 'other', ...from('203.0.113.11') });
    await other.ping();
    // the proxy itself (no header) is its own address
    const direct = await connect(srv.wsUrl, { name: 'direct' });
    await direct.ping();
    // one closes: room for one more
    await open.pop().close();
    await eventually(async () => {
      const again = await connect(srv.wsUrl, { name: 'again', ...from(addr) });
      try { await again.ping(500); } finally { open.push(again); }
    }, 5000, 200);
    assert.ok(await metric(srv, 'videomeet_rate_limited_total{limit="connections"}') >= 1);
    await closeAll(open, other, direct);
  });

  test('IPv6: one /64 is one address', T, async () => {
    const open = [];
    for (let i = 0; i < 5; i++) open.push(await connect(srv.wsUrl, { name: `v${i}`, ...from(`2001:db8:1:2::${i + 1}`) }));
    const refused = await connect(srv.wsUrl, { name: 'v6', ...from('[2001:db8:1:2:ffff::9]:5555') });
    assert.equal((await refused.next('error')).reason, 'connections');
    const next64 = await connect(srv.wsUrl, { name: 'next64', ...from('2001:db8:1:3::1') });
    await next64.ping();
    await closeAll(open, refused, next64);
  });

  test('meetings started: 3 a minute; then a join of an unknown id is refused, a live meeting still joins', T, async () => {
    const addr = '203.0.113.20';
    const c = await connect(srv.wsUrl, { name: 'starter', ...from(addr) });
    const host = await connect(srv.wsUrl, { name: 'host', ...from('203.0.113.21') });
    const live = randomMeetingId();
    await host.join(live, 'host');
    for (let i = 0; i < 3; i++) {
      assert.equal((await tryJoin(c, randomMeetingId())).type, 'existing-users');
      await leave(c);
    }
    const before = await metric(srv, 'videomeet_rate_limited_total{limit="meetings"}');
    assertLimited(await tryJoin(c, randomMeetingId()), 'meetings');
    assert.equal(await metric(srv, 'videomeet_rate_limited_total{limit="meetings"}'), before + 1);
    assert.equal((await tryJoin(c, live)).type, 'existing-users'); // the socket is still good
    await leave(c);
    // /api/create-meeting takes from the same allowance: 429 with Retry-After
    const res = await fetch(`${srv.url}/api/create-meeting`, { headers: { 'X-Forwarded-For': addr } });
    assert.equal(res.status, 429);
    const retry = Number(res.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 20, `Retry-After: ${retry}`);
    const body = await res.json();
    assert.equal(body.error, 'rate-limited');
    assert.equal(body.retryAfter, retry);
    // another address creates meetings as usual
    const ok = await fetch(`${srv.url}/api/create-meeting`, { headers: { 'X-Forwarded-For': '203.0.113.22' } });
    assert.equal(ok.status, 200);
    await closeAll(c, host);
  });

  test('joins of unknown ids: once out of them, every join is refused (no answer tells a live id)', T, async () => {
    const c = await connect(srv.wsUrl, { name: 'guesser', ...from('203.0.113.30') });
    const host = await connect(srv.wsUrl, { name: 'host', ...from('203.0.113.31') });
    const live = randomMeetingId();
    await host.join(live, 'host');
    const answers = [];
    for (let i = 0; i < 6; i++) {
      const m = await tryJoin(c, randomMeetingId());
      answers.push(m.type === 'error' ? `${m.code}/${m.reason}` : 'joined');
      if (m.type !== 'error') await leave(c);
    }
    // 3 meetings started, then refused for meetings; all 6 were joins of unknown ids
    assert.deepEqual(answers, ['joined', 'joined', 'joined', 'rate-limited/meetings', 'rate-limited/meetings',
      'rate-limited/meetings']);
    const before = await metric(srv, 'videomeet_rate_limited_total{limit="unknown-meetings"}');
    assertLimited(await tryJoin(c, live), 'unknown-meetings'); // a live id answers like any other
    assertLimited(await tryJoin(c, randomMeetingId()), 'unknown-meetings');
    assert.equal(await metric(srv, 'videomeet_rate_limited_total{limit="unknown-meetings"}'), before + 2);
    await closeAll(c, host);
  });
});

describe('a meeting never used does not hold a slot for the full grace period', { timeout: 60000 }, () => {
  let srv;
  before(async () => { srv = await startServer({ MEETING_UNUSED_GRACE_SECONDS: '1' }); });
  after(async () => { if (srv) await srv.stop(); });

  test('joined and left at once: gone after MEETING_UNUSED_GRACE_SECONDS; used or not yet joined: kept', T, async () => {
    const meetings = async () => (await (await fetch(`${srv.url}/healthz`)).json()).meetings;
    const a = await connect(srv.wsUrl, { name: 'a' });
    const b = await connect(srv.wsUrl, { name: 'b' });
    await a.join(randomMeetingId(), 'a'); // a guess, or a mistyped code
    await leave(a);
    const pair = randomMeetingId();
    await a.join(pair, 'a'); // two people at once
    await b.join(pair, 'b');
    await leave(a);
    await leave(b);
    await a.join(randomMeetingId(), 'a'); // alone, but wrote in the chat
    a.send({ type: 'chat-message', message: 'notes' });
    await a.next('receive-message');
    await leave(a);
    const created = await (await fetch(`${srv.url}/api/create-meeting`)).json(); // on the setup page
    assert.equal(await meetings(), 4);
    await eventually(async () => assert.equal(await meetings(), 3), 5000, 200);
    await sleep(2000);
    assert.equal(await meetings(), 3);
    // the created meeting is still live: joining it keeps its id (and it was not made again)
    const j = await b.join(created.meetingId, 'b');
    assert.equal(j.meetingId, created.meetingId);
    assert.equal(await meetings(), 3);
    await closeAll(a, b);
  });
});

describe('X-Forwarded-For from an untrusted peer is ignored', { timeout: 60000 }, () => {
  let srv;
  before(async () => {
    srv = await startServer({ ADDRESS_MAX_CONNECTIONS: '3' });
  });
  after(async () => { if (srv) await srv.stop(); });

  test('sockets that claim other addresses still count as the peer', T, async () => {
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await connect(srv.wsUrl, { name: `c${i}`, ...from(`198.51.100.${i}`) }));
    const refused = await connect(srv.wsUrl, { name: 'fourth', ...from('198.51.100.200') });
    assert.equal((await refused.next('error')).reason, 'connections');
    await closeAll(open, refused);
  });
});

describe('ICE candidates and SDP: their own allowance, bounded per connection', { timeout: 60000 }, () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { if (srv) await srv.stop(); });

  const cand = (i) => `candidate:${i} 1 udp ${2113937151 - i} 192.0.2.${(i % 250) + 1} ${40000 + i} typ host`;

  test('120 candidates at once pass; chat keeps its own 20/s bucket meanwhile', T, async () => {
    const c = await connect(srv.wsUrl, { name: 'many' });
    await c.join(randomMeetingId(), 'many');
    for (let i = 0; i < 60; i++) c.send({ type: 'ice-candidate', pc: 'up', candidate: cand(i), sdpMid: '0' });
    for (let i = 0; i < 60; i++) c.send({ type: 'ice-candidate', pc: 'down', candidate: cand(i), sdpMid: '0' });
    for (let i = 0; i < 30; i++) c.send({ type: 'chat-message', message: `m${i}` });
    await c.ping(5000);
    await sleep(300);
    const limited = c.all('error').filter((e) => e.code === 'rate-limited');
    // the 40-message chat burst is untouched by the 120 candidates
    assert.deepEqual(limited, [], JSON.stringify(limited));
    assert.equal(c.all('receive-message').length, 30);
    await c.close();
  });

  test('a connection that spent its message allowance still leaves its meeting (a leave is never dropped)', T, async () => {
    const c = await connect(srv.wsUrl, { name: 'spent' });
    await c.join(randomMeetingId(), 'spent');
    for (let i = 0; i < 80; i++) c.send({ type: 'chat-message', message: `m${i}` });
    await c.next((m) => m.type === 'error' && m.code === 'rate-limited' && m.reason === 'messages', 5000);
    c.send({ type: 'leave-meeting' }); // the bucket is empty now
    await c.next('left', 5000);
    // out of the meeting, a leave takes from the allowance like anything else
    c.send({ type: 'leave-meeting' });
    await c.close();
  });

  test('past 200 candidates of one connection and ICE generation the rest are ignored, told once', T, async () => {
    const c = await connect(srv.wsUrl, { name: 'flood' });
    await c.join(randomMeetingId(), 'flood');
    const before = await metric(srv, 'videomeet_rate_limited_total{limit="candidates"}');
    for (let i = 0; i < 230; i++) {
      c.send({ type: 'ice-candidate', pc: 'up', candidate: cand(i), sdpMid: '0' });
      if (i % 100 === 99) await sleep(2600); // stay within the 40/s, 300-burst allowance
    }
    await c.ping(5000);
    const told = c.all('error').filter((e) => e.code === 'rate-limited');
    assert.equal(told.length, 1, JSON.stringify(told));
    assert.equal(told[0].reason, 'candidates');
    assert.equal(told[0].ref, 'ice-candidate');
    assert.equal(await metric(srv, 'videomeet_rate_limited_total{limit="candidates"}'), before + 30);
    // the other connection has its own count
    c.send({ type: 'ice-candidate', pc: 'down', candidate: cand(1), sdpMid: '0' });
    await c.ping();
    assert.equal(await metric(srv, 'videomeet_rate_limited_total{limit="candidates"}'), before + 30);
    await c.close();
  });

  test('an ICE restart (a new ufrag in the browser\'s offer) starts the count again', T, async () => {
    const offer = fs.readFileSync(path.join(repoRoot, 'tests/data/sdp/chromium-offer-sendonly.sdp'), 'utf8');
    const c = await connect(srv.wsUrl, { name: 'restart' });
    await c.join(randomMeetingId(), 'restart');
    c.send({ type: 'offer', pc: 'up', sdp: offer });
    await c.next('answer', 10000);
    const before = await metric(srv, 'videomeet_rate_limited_total{limit="candidates"}');
    for (let i = 0; i < 200; i++) c.send({ type: 'ice-candidate', pc: 'up', candidate: cand(i), sdpMid: '0' });
    await sleep(3000);
    c.send({ type: 'offer', pc: 'up', sdp: offer }); // the same ufrag: no restart, the count goes on
    await c.next('answer', 10000);
    c.send({ type: 'ice-candidate', pc: 'up', candidate: cand(500), sdpMid: '0' });
    await c.ping();
    assert.equal(await metric(srv, 'videomeet_rate_limited_total{limit="candidates"}'), before + 1);
    const restarted = offer.replace(/a=ice-ufrag:\S+/g, 'a=ice-ufrag:zZ9r').replace(/a=ice-pwd:\S+/g,
      'a=ice-pwd:restartedrestartedrestart0');
    assert.notEqual(restarted, offer);
    c.send({ type: 'offer', pc: 'up', sdp: restarted });
    await c.next('answer', 10000);
    for (let i = 0; i < 100; i++) c.send({ type: 'ice-candidate', pc: 'up', candidate: cand(600 + i), sdpMid: '0' });
    await c.ping();
    assert.equal(await metric(srv, 'videomeet_rate_limited_total{limit="candidates"}'), before + 1);
    await c.close();
  });

  test('a flood of candidates is rate-limited in its own bucket and counted', T, async () => {
    const c = await connect(srv.wsUrl, { name: 'fast' });
    await c.join(randomMeetingId(), 'fast');
    const before = await metric(srv, 'videomeet_rate_limited_total{limit="media-messages"}');
    for (let i = 0; i < 340; i++) c.send({ type: 'ice-candidate', pc: 'down', candidate: cand(i), sdpMid: '0' });
    await c.ping(5000); // ping is in the general bucket: still answered
    const limited = c.all('error').filter((e) => e.code === 'rate-limited' && e.reason === 'messages');
    assert.ok(limited.length >= 20 && limited.length <= 45, `dropped: ${limited.length}`);
    assert.equal(await metric(srv, 'videomeet_rate_limited_total{limit="media-messages"}'), before + limited.length);
    await c.close();
  });
});
