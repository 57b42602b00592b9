// Coming back without leaving (PROTOCOL.md "Reconnecting"): a participant whose WebSocket dropped
// resumes on a new one with its resume token, within the grace period (3 s here), as the same
// participant: same userId, no user-left / user-joined for the others (who see user-reconnecting),
// and what was said meanwhile delivered. Each token works once (rotated at every resume). Forged,
// used, expired, another user's and malformed tokens get `resume-refused`, and change nothing.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { connect, connectAndJoin, closeAll, randomMeetingId, sleep } from './client.mjs';

const T = { timeout: 20000 };
const GRACE_S = 3;
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

describe('resume', { timeout: 120000 }, () => {
  let srv;
  const open = [];

  before(async () => { srv = await startServer({ RECONNECT_GRACE_SECONDS: String(GRACE_S) }); });
  after(async () => {
    await closeAll(open);
    if (srv) await srv.stop();
  });

  async function join(id, name) {
    const r = await connectAndJoin(srv.wsUrl, id, name);
    open.push(r.client);
    return r;
  }

  /** A new socket sending resume-meeting; resolves with {client, answer} (existing-users or error). */
  async function resume(fields, name = 'resumer') {
    const client = await connect(srv.wsUrl, { name });
    open.push(client);
    client.send({ type: 'resume-meeting', ...fields });
    const answer = await client.next((m) => m.type === 'existing-users' || m.type === 'error');
    return { client, answer };
  }

  /** Two in a meeting: a (who will drop) and b (the witness). */
  async function pair() {
    const id = randomMeetingId();
    const a = await join(id, 'Ada');
    const b = await join(id, 'Bo');
    await a.client.next('user-joined');
    return { id, a, b };
  }

  test('existing-users carries a resume token and the grace period', T, async () => {
    const { a, b } = await pair();
    assert.match(a.joined.resumeToken, TOKEN_RE);
    assert.match(b.joined.resumeToken, TOKEN_RE);
    assert.notEqual(a.joined.resumeToken, b.joined.resumeToken);
    assert.equal(a.joined.resumeSeconds, GRACE_S);
    assert.equal(a.joined.resumed, undefined);
  });

  test('a dropped socket resumes as the same participant: no leave or join, chat meanwhile delivered, token rotated', T, async () => {
    const { id, a, b } = await pair();
    b.client.send({ type: 'chat-message', message: 'before' });
    await a.client.next('receive-message');
    a.client.destroy();
    assert.deepEqual(await b.client.next('user-reconnecting', 2000),
      { type: 'user-reconnecting', userId: a.joined.userId, reconnecting: true });
    // While a is away: b chats and changes its media state; a joiner sees a marked reconnecting.
    b.client.send({ type: 'chat-message', message: 'while away' });
    b.client.send({ type: 'media-state', audio: false, video: true });
    const c = await join(id, 'Cy');
    const seenByC = c.joined.users.find((u) => u.userId === a.joined.userId);
    assert.equal(seenByC.reconnecting, true);

    const r = await resume({ meetingId: id, userId: a.joined.userId, resumeToken: a.joined.resumeToken });
    assert.equal(r.answer.type, 'existing-users', JSON.stringify(r.answer));
    assert.equal(r.answer.userId, a.joined.userId);
    assert.equal(r.answer.resumed, true);
    assert.match(r.answer.resumeToken, TOKEN_RE);
    assert.notEqual(r.answer.resumeToken, a.joined.resumeToken);
    assert.deepEqual(r.answer.users.map((u) => u.userId), [b.joined.userId, c.joined.userId]);
    assert.equal(r.answer.users[0].audio, false);
    assert.deepEqual(r.answer.chatHistory.map((m) => m.message), ['before', 'while away']);
    // What was sent to a while it was away follows the answer, in order.
    assert.equal((await r.client.next('receive-message')).message, 'while away');
    assert.equal((await r.client.next('user-joined')).user.userId, c.joined.userId);
    assert.deepEqual(await b.client.next('user-reconnecting', 2000),
      { type: 'user-reconnecting', userId: a.joined.userId, reconnecting: false });
    // Chat works both ways, under the same userId.
    r.client.send({ type: 'chat-message', message: 'back' });
    const got = await b.client.next((m) => m.type === 'receive-message' && m.message === 'back');
    assert.equal(got.userId, a.joined.userId);
    assert.equal(got.message, 'back');
    b.client.send({ type: 'chat-message', message: 'welcome' });
    assert.equal((await r.client.next((m) => m.type === 'receive-message' && m.message === 'welcome')).userId,
      b.joined.userId);
    // Past the grace period, nobody left and nobody joined twice.
    await sleep(GRACE_S * 1000 + 1200);
    assert.deepEqual(b.client.all('user-left'), []);
    assert.deepEqual(b.client.all('user-joined').map((m) => m.user.userId), [c.joined.userId]);
    // The used token is spent.
    const again = await resume({ meetingId: id, userId: a.joined.userId, resumeToken: a.joined.resumeToken });
    assert.equal(again.answer.code, 'resume-refused');
    assert.equal(again.answer.ref, 'resume-meeting');
    await again.client.ping(); // the socket stays open, not joined
    again.client.send({ type: 'chat-message', message: 'sneaky' });
    await again.client.expectError('not-in-meeting', 'chat-message');
  });

  test('resuming while the old socket is still open takes it over: the old one is closed (4001), its queue moves', T, async () => {
    const { id, a, b } = await pair();
    const r = await resume({ meetingId: id, userId: a.joined.userId, resumeToken: a.joined.resumeToken });
    assert.equal(r.answer.userId, a.joined.userId);
    assert.equal((await a.client.waitClose(3000)).code, 4001);
    await b.client.expectNone((m) => m.type === 'user-left' || m.type === 'user-joined' || m.type === 'user-reconnecting');
    b.client.send({ type: 'chat-message', message: 'to the new socket' });
    assert.equal((await r.client.next('receive-message')).message, 'to the new socket');
  });

  test('past the grace period the participant leaves (user-left disconnected) and its token is refused', T, async () => {
    const { id, a, b } = await pair();
    const t0 = Date.now();
    a.client.destroy();
    await b.client.next('user-reconnecting', 2000);
    assert.deepEqual(await b.client.next('user-left', GRACE_S * 1000 + 3000),
      { type: 'user-left', userId: a.joined.userId, reason: 'disconnected' });
    assert.ok(Date.now() - t0 >= GRACE_S * 1000 - 100, 'left before the grace period ended');
    const r = await resume({ meetingId: id, userId: a.joined.userId, resumeToken: a.joined.resumeToken });
    assert.equal(r.answer.code, 'resume-refused');
    assert.match(r.answer.message, /join again/);
  });

  test('a close frame from the client (1000) leaves at once: no grace period, the token is refused', T, async () => {
    const { id, a, b } = await pair();
    await a.client.close();
    assert.equal((await b.client.next('user-left', 1000)).userId, a.joined.userId);
    assert.deepEqual(b.client.all('user-reconnecting'), []);
    const r = await resume({ meetingId: id, userId: a.joined.userId, resumeToken: a.joined.resumeToken });
    assert.equal(r.answer.code, 'resume-refused');
  });

  test('forged, foreign and malformed tokens are refused and change nothing', T, async () => {
    const { id, a, b } = await pair();
    const other = await pair();
    a.client.destroy();
    await b.client.next('user-reconnecting', 2000);
    const forged = a.joined.resumeToken.slice(0, 42) + (a.joined.resumeToken[42] === 'A' ? 'B' : 'A');
    const cases = {
      'a forged token (one character changed)': { meetingId: id, userId: a.joined.userId, resumeToken: forged },
      "another participant's token": { meetingId: id, userId: a.joined.userId, resumeToken: b.joined.resumeToken },
      "a's token for b": { meetingId: id, userId: b.joined.userId, resumeToken: a.joined.resumeToken },
      'the right token in another meeting': { meetingId: other.id, userId: a.joined.userId, resumeToken: a.joined.resumeToken },
      'a user that does not exist': { meetingId: id, userId: 'uzzzzzzzzzzzz', resumeToken: a.joined.resumeToken },
      'garbage': { meetingId: id, userId: a.joined.userId, resumeToken: 'garbage' },
      'a token one character short': { meetingId: id, userId: a.joined.userId, resumeToken: a.joined.resumeToken.slice(1) },
      'a token with +/': { meetingId: id, userId: a.joined.userId, resumeToken: `+/${a.joined.resumeToken.slice(2)}` },
      'an empty token': { meetingId: id, userId: a.joined.userId, resumeToken: '' },
      'a 10 KiB token': { meetingId: id, userId: a.joined.userId, resumeToken: 'A'.repeat(10240) },
    };
    for (const [name, fields] of Object.entries(cases)) {
      const r = await resume(fields, name);
      assert.equal(r.answer.type, 'error', `${name}: ${JSON.stringify(r.answer)}`);
      assert.equal(r.answer.code, 'resume-refused', `${name}: ${JSON.stringify(r.answer)}`);
      assert.equal(r.answer.ref, 'resume-meeting');
      await r.client.ping();
    }
    for (const [name, fields, code] of [
      ['no token', { meetingId: id, userId: a.joined.userId }, 'invalid-field'],
      ['a numeric token', { meetingId: id, userId: a.joined.userId, resumeToken: 12 }, 'invalid-field'],
      ['no userId', { meetingId: id, resumeToken: a.joined.resumeToken }, 'invalid-field'],
      ['a bad meetingId', { meetingId: 'nope', userId: a.joined.userId, resumeToken: a.joined.resumeToken }, 'invalid-meeting-id'],
    ]) {
      const r = await resume(fields, name);
      assert.equal(r.answer.code, code, `${name}: ${JSON.stringify(r.answer)}`);
    }
    // b was not disturbed (and no one took its place); a still can resume with its real token.
    assert.deepEqual(b.client.all('error'), []);
    await b.client.ping();
    const r = await resume({ meetingId: id, userId: a.joined.userId, resumeToken: a.joined.resumeToken });
    assert.equal(r.answer.userId, a.joined.userId);
    assert.deepEqual(b.client.all('user-left'), []);
    // A joined socket cannot resume (already-joined).
    b.client.send({ type: 'resume-meeting', meetingId: id, userId: a.joined.userId, resumeToken: r.answer.resumeToken });
    await b.client.expectError('already-joined', 'resume-meeting');
  });

  test('ice-restart: only for pc "down" and only in a meeting', T, async () => {
    const c = await connect(srv.wsUrl, { name: 'restarter' });
    open.push(c);
    c.send({ type: 'ice-restart', pc: 'down' });
    await c.expectError('not-in-meeting', 'ice-restart');
    await c.join(randomMeetingId(), 'Restarter');
    c.send({ type: 'ice-restart', pc: 'up' });
    await c.expectError('invalid-field', 'ice-restart');
    c.send({ type: 'ice-restart' });
    await c.expectError('invalid-field', 'ice-restart');
    c.send({ type: 'ice-restart', pc: 'down' }); // no receiving connection yet: nothing to restart
    await c.expectNone('error');
    await c.ping();
  });
});
