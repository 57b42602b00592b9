// Empty meeting lifetime (PROTOCOL.md, "Lifetimes") with MEETING_GRACE_SECONDS=1: an emptied meeting keeps
// its chat history during the grace period and is dropped after it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { connectAndJoin, closeAll, httpGet, randomMeetingId, sleep } from './client.mjs';

const T = { timeout: 20000 };

describe('empty meeting expiry (MEETING_GRACE_SECONDS=1)', { timeout: 180000 }, () => {
  let srv;
  const open = [];
  async function join(id, name) {
    const r = await connectAndJoin(srv.wsUrl, id, name);
    open.push(r.client);
    return r;
  }
  /** Joins, chats `text`, and leaves (by leave-meeting, or by closing when how === 'close'). */
  async function chatAndLeave(id, text, how = 'leave') {
    const a = await join(id, 'Talker');
    a.client.send({ type: 'chat-message', message: text });
    const sent = await a.client.next('receive-message');
    if (how === 'leave') {
      a.client.send({ type: 'leave-meeting' });
      await a.client.next('left');
    } else {
      await a.client.close();
    }
    const { type, ...chat } = sent;
    return chat;
  }
  async function healthz() {
    return JSON.parse((await httpGet(`${srv.url}/healthz`)).text);
  }

  before(async () => { srv = await startServer({ MEETING_GRACE_SECONDS: '1' }); });
  after(async () => {
    await closeAll(open);
    if (srv) await srv.stop();
  });

  test('a rejoiner within the grace period sees the chat history', T, async () => {
    const id = randomMeetingId();
    const chat = await chatAndLeave(id, 'remember me');
    const b = await join(id, 'Returner');
    assert.deepEqual(b.joined.users, []);
    assert.deepEqual(b.joined.chatHistory, [chat]);
    await b.client.close();
  });

  test('a rejoiner within the grace period sees it after a closed socket too', T, async () => {
    const id = randomMeetingId();
    const chat = await chatAndLeave(id, 'closed but kept', 'close');
    await sleep(300);
    const b = await join(id, 'Returner');
    assert.deepEqual(b.joined.chatHistory, [chat]);
    await b.client.close();
  });

  test('after the grace period a new joiner sees an empty meeting', T, async () => {
    const id = randomMeetingId();
    await chatAndLeave(id, 'forget me');
    const h0 = await healthz();
    assert.equal(h0.participants, 0);
    assert.ok(h0.meetings >= 1, `meeting dropped at once: ${JSON.stringify(h0)}`);
    await sleep(2500);
    const h = await healthz();
    assert.equal(h.meetings, 0, `meetings still alive after the grace period: ${JSON.stringify(h)}`);
    const c = await join(id, 'Newcomer');
    assert.deepEqual(c.joined.users, []);
    assert.deepEqual(c.joined.chatHistory, []);
    await c.client.close();
  });

  test('the grace period restarts: a meeting refilled within it survives', T, async () => {
    const id = randomMeetingId();
    const chat = await chatAndLeave(id, 'keep going');
    await sleep(500);
    const b = await join(id, 'Keeper');
    await sleep(1500); // past the first grace period, but the meeting has a participant
    const c = await join(id, 'Third');
    assert.deepEqual(c.joined.chatHistory, [chat]);
    assert.deepEqual(c.joined.users.map((u) => u.userId), [b.joined.userId]);
    await closeAll(b.client, c.client);
  });

  test('a created meeting that nobody joins is dropped after the grace period', T, async () => {
    await sleep(2500); // let the meetings of the earlier tests expire
    const { meetingId } = JSON.parse((await httpGet(`${srv.url}/api/create-meeting`)).text);
    assert.ok(meetingId);
    await sleep(2500);
    assert.equal((await healthz()).meetings, 0);
  });
});
