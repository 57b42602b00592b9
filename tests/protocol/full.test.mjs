// Meeting size limit (PROTOCOL.md: `meeting-full`), with a server started with MAX_PARTICIPANTS=3.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { connect, connectAndJoin, closeAll, httpGet, randomMeetingId } from './client.mjs';

const T = { timeout: 20000 };

describe('meeting full (MAX_PARTICIPANTS=3)', { timeout: 180000 }, () => {
  let srv;
  const open = [];
  async function join(id, name) {
    const r = await connectAndJoin(srv.wsUrl, id, name);
    open.push(r.client);
    return r;
  }
  before(async () => { srv = await startServer({ MAX_PARTICIPANTS: '3', RECONNECT_GRACE_SECONDS: '1' }); });
  after(async () => {
    await closeAll(open);
    if (srv) await srv.stop();
  });

  test('/api/config reports the configured maxParticipants', T, async () => {
    const cfg = JSON.parse((await httpGet(`${srv.url}/api/config`)).text);
    assert.equal(cfg.maxParticipants, 3);
  });

  test('the 4th joiner gets meeting-full and the others are not told', T, async () => {
    const id = randomMeetingId();
    const a = await join(id, 'P1');
    const b = await join(id, 'P2');
    const c = await join(id, 'P3');
    assert.equal(c.joined.users.length, 2);
    await a.client.next('user-joined');
    await a.client.next('user-joined');
    await b.client.next('user-joined');

    const d = await connect(srv.wsUrl, { name: 'P4' });
    open.push(d);
    d.send({ type: 'join-meeting', meetingId: id, username: 'P4' });
    await d.expectError('meeting-full', 'join-meeting');
    assert.deepEqual(d.all('existing-users'), []);
    for (const x of [a, b, c]) await x.client.expectNone((m) => m.type === 'user-joined', 300);
    // The socket stays open and unjoined.
    await d.ping();
    d.send({ type: 'chat-message', message: 'let me in' });
    await d.expectError('not-in-meeting', 'chat-message');
    for (const x of [a, b, c]) await x.client.expectNone('receive-message', 100);
    // Other meetings are unaffected by the full one.
    const other = await d.join(randomMeetingId(), 'P4');
    assert.deepEqual(other.users, []);
  });

  test('once someone leaves, a refused socket can join the meeting', T, async () => {
    const id = randomMeetingId();
    const a = await join(id, 'Q1');
    const b = await join(id, 'Q2');
    const c = await join(id, 'Q3');
    const d = await connect(srv.wsUrl, { name: 'Q4' });
    open.push(d);
    d.send({ type: 'join-meeting', meetingId: id, username: 'Q4' });
    await d.expectError('meeting-full', 'join-meeting');

    c.client.send({ type: 'leave-meeting' });
    await c.client.next('left');
    const j = await d.join(id, 'Q4');
    assert.deepEqual(j.users.map((u) => u.userId), [a.joined.userId, b.joined.userId]);
    const uj = await a.client.next((m) => m.type === 'user-joined' && m.user.username === 'Q4');
    assert.equal(uj.user.userId, j.userId);

    // Full again: the leaver cannot come back now.
    c.client.send({ type: 'join-meeting', meetingId: id, username: 'Q3' });
    await c.client.expectError('meeting-full', 'join-meeting');
  });

  test('a dropped participant frees its seat (after the reconnect grace period, 1 s here)', T, async () => {
    const id = randomMeetingId();
    const a = await join(id, 'R1');
    await join(id, 'R2');
    const c = await join(id, 'R3');
    c.client.destroy();
    await a.client.next((m) => m.type === 'user-left' && m.userId === c.joined.userId, 5000);
    const d = await join(id, 'R4');
    assert.equal(d.joined.users.length, 2);
  });
});
