// Meeting flows over the WebSocket (PROTOCOL.md): joining and seeing each other, chat with server
// stamps and history, media state relay, leaving and disconnecting. Every test uses its own meeting id.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import {
  connect, connectAndJoin, closeAll, httpGet, randomMeetingId, assertParticipant, assertChat,
} from './client.mjs';

const T = { timeout: 20000 };

/** The chat carried by a receive-message (its fields other than `type`). */
function chatOf(m) {
  assert.equal(m.type, 'receive-message');
  const { type, ...chat } = m;
  return chat;
}

function assertNearNow(ms, what) {
  assert.ok(Number.isInteger(ms), `${what} not an integer: ${ms}`);
  assert.ok(Math.abs(ms - Date.now()) < 5000, `${what} not near now: ${ms} vs ${Date.now()}`);
}

describe('meetings', { timeout: 180000 }, () => {
  let srv;
  const open = [];
  /** Connects and joins, remembering the client for cleanup. */
  async function join(id, name, extra) {
    const r = await connectAndJoin(srv.wsUrl, id, name, extra);
    open.push(r.client);
    return r;
  }
  // A short reconnect grace period: a dropped socket leaves 2 s later (resume.test.mjs tests resuming).
  before(async () => { srv = await startServer({ RECONNECT_GRACE_SECONDS: '2' }); });
  after(async () => {
    await closeAll(open);
    if (srv) await srv.stop();
  });

  test('two participants see each other', T, async () => {
    const id = randomMeetingId();
    const a = await join(id, 'Alice');
    assert.equal(a.joined.type, 'existing-users');
    assert.equal(a.joined.meetingId, id);
    assert.equal(typeof a.joined.userId, 'string');
    assert.ok(a.joined.userId.length > 0);
    assert.deepEqual(a.joined.users, []);
    assert.deepEqual(a.joined.chatHistory, []);

    const b = await join(id, 'Bob', { audio: false, video: true });
    assert.equal(b.joined.meetingId, id);
    assert.notEqual(b.joined.userId, a.joined.userId);
    assert.equal(b.joined.users.length, 1);
    assertParticipant(b.joined.users[0], { userId: a.joined.userId, username: 'Alice', audio: true, video: true });
    assert.deepEqual(b.joined.chatHistory, []);

    const uj = await a.client.next('user-joined');
    assertParticipant(uj.user, { userId: b.joined.userId, username: 'Bob', audio: false, video: true });
    // B is not told about itself.
    await b.client.expectNone('user-joined');
  });

  test('users are listed in join order with their initial media state', T, async () => {
    const id = randomMeetingId();
    const a = await join(id, 'First', { audio: false, video: false });
    const b = await join(id, 'Second', { video: false });
    const c = await join(id, 'Third');
    assert.equal(c.joined.users.length, 2);
    assertParticipant(c.joined.users[0], { userId: a.joined.userId, username: 'First', audio: false, video: false });
    assertParticipant(c.joined.users[1], { userId: b.joined.userId, username: 'Second', audio: true, video: false });
    assert.ok(c.joined.users[0].joinedAt <= c.joined.users[1].joinedAt);
    const ids = new Set([a.joined.userId, b.joined.userId, c.joined.userId]);
    assert.equal(ids.size, 3, 'userIds are not unique');
  });

  test('an upper-case meeting id is folded to lower case', T, async () => {
    const id = randomMeetingId();
    const a = await join(id, 'Lower');
    const b = await join(id.toUpperCase(), 'Upper');
    assert.equal(b.joined.meetingId, id);
    assert.equal(b.joined.users.length, 1);
    assert.equal(b.joined.users[0].userId, a.joined.userId);
  });

  test('a username of 50 multi-byte characters is accepted and kept', T, async () => {
    const name = 'é'.repeat(25) + '😀'.repeat(25);
    const id = randomMeetingId();
    const a = await join(id, 'Host');
    const b = await join(id, name);
    const uj = await a.client.next('user-joined');
    assert.equal(uj.user.username, name);
    assert.equal(uj.user.userId, b.joined.userId);
  });

  test('chat is delivered to everyone with server stamps and rising ids', T, async () => {
    const id = randomMeetingId();
    const a = await join(id, 'Ann');
    const b = await join(id, 'Ben');
    await a.client.next('user-joined');

    a.client.send({ type: 'chat-message', message: 'hello <b>there</b>', userId: 'forged', username: 'Mallory',
      timestamp: 1, id: 999999 });
    const atA = chatOf(await a.client.next('receive-message'));
    const atB = chatOf(await b.client.next('receive-message'));
    assert.deepEqual(atA, atB);
    assertChat(atA, { userId: a.joined.userId, username: 'Ann', message: 'hello <b>there</b>' });
    assertNearNow(atA.timestamp, 'timestamp');

    b.client.send({ type: 'chat-message', message: 'hi Ann' });
    const second = chatOf(await a.client.next('receive-message'));
    assert.deepEqual(chatOf(await b.client.next('receive-message')), second);
    assertChat(second, { userId: b.joined.userId, username: 'Ben', message: 'hi Ann' });
    assert.ok(second.id > atA.id, `ids do not rise: ${atA.id} then ${second.id}`);
    assert.ok(second.timestamp >= atA.timestamp);
  });

  test('a late joiner gets the chat history, oldest first', T, async () => {
    const id = randomMeetingId();
    const a = await join(id, 'Ada');
    const texts = ['one', 'two', 'three'];
    const sent = [];
    for (const t of texts) {
      a.client.send({ type: 'chat-message', message: t });
      sent.push(chatOf(await a.client.next('receive-message')));
    }
    const c = await join(id, 'Cy');
    assert.equal(c.joined.chatHistory.length, 3);
    c.joined.chatHistory.forEach((h, i) => {
      assertChat(h, { userId: a.joined.userId, username: 'Ada', message: texts[i] });
      assert.deepEqual(h, sent[i]);
    });
  });

  test('chat history keeps only the last 50 messages', T, async () => {
    const id = randomMeetingId();
    // Two senders so that neither passes the per-connection burst of 40.
    const a = await join(id, 'S1');
    const b = await join(id, 'S2');
    const all = [];
    const sendBatch = async (sender, from, to) => {
      for (let i = from; i < to; i++) sender.client.send({ type: 'chat-message', message: `m${i}` });
      for (let i = from; i < to; i++) {
        const m = chatOf(await sender.client.next(
          (x) => x.type === 'receive-message' && x.userId === sender.joined.userId));
        assert.equal(m.message, `m${i}`);
        all.push(m);
      }
    };
    await sendBatch(a, 0, 28);
    await sendBatch(b, 28, 55);
    for (let i = 1; i < all.length; i++) assert.ok(all[i].id > all[i - 1].id, 'ids do not rise');
    const c = await join(id, 'Late');
    assert.equal(c.joined.chatHistory.length, 50);
    assert.deepEqual(c.joined.chatHistory, all.slice(5));
    assert.equal(c.joined.chatHistory[0].message, 'm5');
    assert.equal(c.joined.chatHistory[49].message, 'm54');
  });

  test('chat length is counted in code points: 1000 accepted, 1001 too-long', T, async () => {
    const id = randomMeetingId();
    const a = await join(id, 'Len');
    const b = await join(id, 'Peer');
    for (const ch of ['a', 'é', '😀', '中']) {
      const ok = ch.repeat(1000);
      a.client.send({ type: 'chat-message', message: ok });
      const m = chatOf(await a.client.next('receive-message'));
      assert.equal(m.message, ok, `1000 × ${ch} not delivered intact`);
      assert.equal(chatOf(await b.client.next('receive-message')).message, ok);

      a.client.send({ type: 'chat-message', message: ch.repeat(1001) });
      await a.client.expectError('too-long', 'chat-message');
    }
    await b.client.expectNone('receive-message');
    assert.equal(a.client.all('receive-message').length, 4);
    await a.client.ping();
  });

  test('an empty or whitespace-only chat message is refused', T, async () => {
    const id = randomMeetingId();
    const a = await join(id, 'Blank');
    const b = await join(id, 'Other');
    for (const msg of ['', ' ', '   \t\n  ']) {
      a.client.send({ type: 'chat-message', message: msg });
      await a.client.expectError('too-long', 'chat-message');
    }
    await b.client.expectNone('receive-message');
    await a.client.ping();
  });

  test('chat, media-state and leave-meeting before joining answer not-in-meeting', T, async () => {
    const c = await connect(srv.wsUrl, { name: 'nojoin' });
    open.push(c);
    c.send({ type: 'chat-message', message: 'hello?' });
    await c.expectError('not-in-meeting', 'chat-message');
    c.send({ type: 'media-state', audio: true, video: false });
    await c.expectError('not-in-meeting', 'media-state');
    c.send({ type: 'leave-meeting' });
    await c.expectError('not-in-meeting', 'leave-meeting');
    await c.ping();
    // The socket can still join afterwards.
    const j = await c.join(randomMeetingId(), 'Later');
    assert.deepEqual(j.users, []);
  });

  test('media state is relayed to the others, not echoed, and shown to later joiners', T, async () => {
    const id = randomMeetingId();
    const a = await join(id, 'Cam');
    const b = await join(id, 'Watcher');
    await a.client.next('user-joined');

    a.client.send({ type: 'media-state', audio: false, video: true });
    const m = await b.client.next('media-state');
    assert.deepEqual(m, { type: 'media-state', userId: a.joined.userId, audio: false, video: true });

    a.client.send({ type: 'media-state', audio: false, video: false });
    assert.deepEqual(await b.client.next('media-state'),
      { type: 'media-state', userId: a.joined.userId, audio: false, video: false });
    await a.client.expectNone('media-state');

    const c = await join(id, 'Late');
    assertParticipant(c.joined.users[0], { userId: a.joined.userId, username: 'Cam', audio: false, video: false });
    assertParticipant(c.joined.users[1], { userId: b.joined.userId, username: 'Watcher', audio: true, video: true });
  });

  test('leave-meeting answers left, tells the others reason left, and allows a new join', T, async () => {
    const id = randomMeetingId();
    const a = await join(id, 'Leaver');
    const b = await join(id, 'Stayer');
    await a.client.next('user-joined');

    a.client.send({ type: 'leave-meeting' });
    assert.deepEqual(await a.client.next('left'), { type: 'left', meetingId: id });
    assert.deepEqual(await b.client.next('user-left'), { type: 'user-left', userId: a.joined.userId, reason: 'left' });

    // After leaving, the socket is out of the meeting: chat is refused and B hears nothing.
    a.client.send({ type: 'chat-message', message: 'ghost' });
    await a.client.expectError('not-in-meeting', 'chat-message');
    await b.client.expectNone('receive-message');

    // And it may join again.
    const again = await a.client.join(id, 'Leaver');
    assert.equal(again.users.length, 1);
    assert.equal(again.users[0].userId, b.joined.userId);
    const uj = await b.client.next('user-joined');
    assert.equal(uj.user.userId, again.userId);
    assert.equal(uj.user.username, 'Leaver');
  });

  test('a dropped TCP connection: reconnecting at once, then leaving with reason disconnected after the grace period', T, async () => {
    const id = randomMeetingId();
    const a = await join(id, 'Dropper');
    const b = await join(id, 'Witness');
    await a.client.next('user-joined');
    const t0 = Date.now();
    a.client.destroy();
    assert.deepEqual(await b.client.next('user-reconnecting', 2000),
      { type: 'user-reconnecting', userId: a.joined.userId, reconnecting: true });
    assert.deepEqual(await b.client.next('user-left', 5000),
      { type: 'user-left', userId: a.joined.userId, reason: 'disconnected' });
    const waited = Date.now() - t0;
    assert.ok(waited >= 1900 && waited < 4500, `left after ${waited} ms, not the grace period of 2 s`);
    const c = await join(id, 'After');
    assert.deepEqual(c.joined.users.map((u) => u.userId), [b.joined.userId]);
  });

  test('a clean close counts as leaving with reason disconnected', T, async () => {
    const id = randomMeetingId();
    const a = await join(id, 'Closer');
    const b = await join(id, 'Witness');
    await a.client.next('user-joined');
    const info = await a.client.close();
    assert.equal(info.code, 1000);
    // At once: a close the client sends itself (1000, 1001 or no code) gets no grace period.
    assert.deepEqual(await b.client.next('user-left', 1000),
      { type: 'user-left', userId: a.joined.userId, reason: 'disconnected' });
    await b.client.expectNone('user-left');
  });

  test('the server is healthy and counts no stale participants at the end', T, async () => {
    await closeAll(open);
    open.length = 0;
    const deadline = Date.now() + 5000;
    let h;
    for (;;) {
      h = JSON.parse((await httpGet(`${srv.url}/healthz`)).text);
      if (h.participants === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(h.status, 'ok');
    assert.equal(h.participants, 0);
  });
});
