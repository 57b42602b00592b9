// web/js/signaling.js following `moved` (PROTOCOL.md "Several nodes"), against two small WebSocket
// servers playing two nodes: the join sent to the wrong one is answered with `moved`, the client
// opens a socket to the owner and joins there by itself; join() resolves with the owner's answer.
// Plus movedSocketUrl(), the limit on moves in a row, and a `moved` mid-meeting (the node drains): the
// client leaves the old node (close 1000) and rejoins the new one by itself, with its media state.
import test from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket, WebSocketServer } from 'ws';
import { SignalingClient, movedSocketUrl } from '../../web/js/signaling.js';

globalThis.WebSocket = WebSocket; // what the browser has (Node 20 has none)

/** A node: answers join-meeting with answer(msg, node) (an object to send). */
function node(answer) {
  return new Promise((resolve) => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => {
      const n = {
        wss, joins: [], url: `http://127.0.0.1:${wss.address().port}`,
        close: () => new Promise((r) => { for (const c of wss.clients) c.terminate(); wss.close(r); }),
      };
      wss.on('connection', (ws) => {
        ws.on('message', (data) => {
          const msg = JSON.parse(String(data));
          if (msg.type !== 'join-meeting') return;
          n.joins.push(msg);
          ws.send(JSON.stringify(answer(msg, n)));
        });
      });
      resolve(n);
    });
  });
}

const existing = (msg) => ({
  type: 'existing-users', meetingId: msg.meetingId, userId: 'u1', users: [], chatHistory: [],
  resumeToken: 't'.repeat(43), resumeSeconds: 30,
});

test('movedSocketUrl: the node\'s base URL to its WebSocket', () => {
  assert.equal(movedSocketUrl('http://10.0.0.2:3001'), 'ws://10.0.0.2:3001/ws');
  assert.equal(movedSocketUrl('https://n2.example.com'), 'wss://n2.example.com/ws');
  assert.equal(movedSocketUrl('https://example.com/node2/'), 'wss://example.com/node2/ws');
  for (const bad of [undefined, 42, '', 'n2.example.com', 'javascript:alert(1)', 'ftp://x', 'ws://x']) {
    assert.equal(movedSocketUrl(bad), null, String(bad));
  }
});

test('a join answered with moved is sent again to the owner, and join() resolves there', async () => {
  const owner = await node(existing);
  const wrong = await node((msg) => ({ type: 'moved', meetingId: msg.meetingId, url: owner.url }));
  const sc = new SignalingClient();
  const moved = [];
  sc.addEventListener('moved', (ev) => moved.push(/** @type {CustomEvent} */ (ev).detail));
  try {
    await sc.connect(`ws://127.0.0.1:${wrong.wss.address().port}/ws`);
    const answer = await sc.join('k7m2pq9x', 'Ada', { audio: true, video: false });
    assert.equal(answer.type, 'existing-users');
    assert.equal(answer.meetingId, 'k7m2pq9x');
    assert.equal(sc.joined, true);
    assert.equal(sc.url, `ws://127.0.0.1:${owner.wss.address().port}/ws`);
    assert.equal(moved.length, 1);
    assert.equal(moved[0].url, owner.url);
    assert.deepEqual(owner.joins, [{ type: 'join-meeting', meetingId: 'k7m2pq9x', username: 'Ada', audio: true, video: false }]);
    assert.equal(wrong.joins.length, 1);
  } finally {
    sc.close();
    await owner.close();
    await wrong.close();
  }
});

test('moves in a row stop after three: join() does not bounce for ever', async () => {
  const a = await node((msg, n) => ({ type: 'moved', meetingId: msg.meetingId, url: n.peer.url }));
  const b = await node((msg, n) => ({ type: 'moved', meetingId: msg.meetingId, url: n.peer.url }));
  a.peer = b;
  b.peer = a;
  const sc = new SignalingClient();
  const invalid = [];
  sc.addEventListener('invalid', (ev) => invalid.push(ev));
  try {
    await sc.connect(`ws://127.0.0.1:${a.wss.address().port}/ws`);
    const join = sc.join('k7m2pq9x', 'Ada', { audio: true, video: true });
    join.catch(() => {});
    const deadline = Date.now() + 3000;
    while (invalid.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(invalid.length, 1, 'the fourth moved is refused');
    assert.equal(a.joins.length + b.joins.length, 4);
    assert.equal(sc.joined, false);
  } finally {
    sc.close();
    await a.close();
    await b.close();
  }
});

test('a moved for another meeting is ignored', async () => {
  const other = await node(existing);
  const n = await node((msg) => ({ type: 'moved', meetingId: 'zzzzzzzz', url: other.url }));
  const sc = new SignalingClient();
  const invalid = [];
  sc.addEventListener('invalid', (ev) => invalid.push(ev));
  try {
    await sc.connect(`ws://127.0.0.1:${n.wss.address().port}/ws`);
    sc.join('k7m2pq9x', 'Ada', { audio: true, video: true }).catch(() => {});
    const deadline = Date.now() + 3000;
    while (invalid.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(invalid.length, 1);
    assert.equal(other.joins.length, 0);
    assert.equal(sc.url, `ws://127.0.0.1:${n.wss.address().port}/ws`);
  } finally {
    sc.close();
    await other.close();
    await n.close();
  }
});

test('a moved mid-meeting (the node drains): the client leaves there and rejoins the new node by itself', async () => {
  const target = await node((msg) => ({ ...existing(msg), userId: 'u2', chatHistory: [{ id: 1, userId: 'x', username: 'X', message: 'hi', timestamp: 1 }] }));
  const old = await node(existing);
  const closes = [];
  old.wss.on('connection', (ws) => ws.on('close', (code) => closes.push(code)));
  const sc = new SignalingClient();
  const events = [];
  for (const t of ['moved', 'reconnected', 'existing-users', 'invalid', 'close']) {
    sc.addEventListener(t, (ev) => events.push({ t, d: /** @type {CustomEvent} */ (ev).detail }));
  }
  try {
    await sc.connect(`ws://127.0.0.1:${old.wss.address().port}/ws`);
    await sc.join('k7m2pq9x', 'Ada', { audio: true, video: true });
    sc.sendMediaState({ audio: false, video: true }); // muted since: kept for the rejoin
    const [ws] = old.wss.clients;
    ws.send(JSON.stringify({ type: 'moved', meetingId: 'k7m2pq9x', url: target.url, reason: 'draining' }));
    const deadline = Date.now() + 3000;
    while (!events.some((e) => e.t === 'reconnected') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const moved = events.find((e) => e.t === 'moved');
    assert.ok(moved, JSON.stringify(events));
    assert.equal(moved.d.midMeeting, true);
    assert.equal(moved.d.reason, 'draining');
    const rejoined = events.find((e) => e.t === 'reconnected');
    assert.ok(rejoined, JSON.stringify(events.map((e) => e.t)));
    assert.equal(rejoined.d.rejoin, true);
    assert.equal(rejoined.d.resumed, false);
    assert.equal(rejoined.d.chatHistory.length, 1);
    assert.deepEqual(target.joins, [{ type: 'join-meeting', meetingId: 'k7m2pq9x', username: 'Ada', audio: false, video: true }]);
    assert.equal(sc.joined, true);
    assert.equal(sc.userId, 'u2');
    assert.equal(sc.url, `ws://127.0.0.1:${target.wss.address().port}/ws`);
    assert.equal(events.filter((e) => e.t === 'invalid').length, 0);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(closes, [1000], 'the old node sees us leave (no resume kept there)');
  } finally {
    sc.close();
    await old.close();
    await target.close();
  }
});
