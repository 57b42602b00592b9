// web/js/signaling.js when its node dies (PROTOCOL.md "Several nodes", "When a node dies"), against
// small WebSocket servers playing three nodes: the client joined on A, which named the live nodes in
// node-info; A dies (its port refuses connections). The client tries A, then the next node, joins
// there at once (no resume: a participant lives on one node); while that node still sends it to the
// dead A (`moved`: the cluster has not noticed yet), it asks again on the same socket once deadNodeMs
// have passed since the loss, and is let in. Plus nextNodeUrl(), the order of the tries.
import test from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket, WebSocketServer } from 'ws';
import { SignalingClient, nextNodeUrl } from '../../web/js/signaling.js';
import { Retry } from '../../web/js/retry.js';

globalThis.WebSocket = WebSocket;

/** A node: handle(msg, ws, node) answers each message (an array of objects to send). */
function node(handle) {
  return new Promise((resolve) => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => {
      const port = wss.address().port;
      const n = {
        wss, port, msgs: [], url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws`,
        close: () => new Promise((r) => { for (const c of wss.clients) c.terminate(); wss.close(r); }),
      };
      wss.on('connection', (ws) => {
        ws.on('message', (data) => {
          const msg = JSON.parse(String(data));
          n.msgs.push({ ...msg, at: Date.now() });
          for (const out of handle(msg, ws, n)) ws.send(JSON.stringify(out));
        });
      });
      resolve(n);
    });
  });
}

test('nextNodeUrl: ours, the page\'s, the others; skipping what refused us; starting again', () => {
  const [a, b, c] = ['ws://a/ws', 'ws://b/ws', 'ws://c/ws'];
  assert.equal(nextNodeUrl([a, a, b, c], new Set()), a);
  assert.equal(nextNodeUrl([a, b, a, b, c], new Set([a])), b);
  assert.equal(nextNodeUrl([a, b, c], new Set([a, b])), c);
  assert.equal(nextNodeUrl([a, b, c], new Set([a, b, c])), a);
  assert.equal(nextNodeUrl([null, b, undefined, c], new Set([b])), c);
  assert.equal(nextNodeUrl([null], new Set()), null);
});

test('its node dies: the client rejoins the same meeting, with the same name, on a live node', { timeout: 20000 }, async () => {
  const nodes = [];
  let placed = false; // the cluster noticed that A died and placed the meeting on B
  const info = (n) => ({ type: 'node-info', node: `n${nodes.indexOf(n)}`, url: n.url, nodes: nodes.map((x) => x.url), iceServers: [] });
  const answer = (msg, n, userId) => [info(n), {
    type: 'existing-users', meetingId: msg.meetingId, userId, users: [],
    chatHistory: [{ id: 1, userId: 'u0', username: 'Ada', message: 'before', timestamp: 1 }],
    resumeToken: 't'.repeat(43), resumeSeconds: 30,
  }];
  const a = await node((msg, ws, n) => (msg.type === 'join-meeting' ? answer(msg, n, 'uA') : []));
  const b = await node((msg, ws, n) => {
    if (msg.type === 'resume-meeting') return [{ type: 'error', code: 'resume-refused', ref: 'resume-meeting', message: 'no' }];
    if (msg.type !== 'join-meeting') return [];
    if (!placed) return [{ type: 'moved', meetingId: msg.meetingId, url: a.url }];
    return answer(msg, n, 'uB');
  });
  const c = await node(() => []);
  nodes.push(a, b, c);
  const sc = new SignalingClient();
  sc.retry = new Retry({ baseMs: 20, jitter: 0 });
  sc.deadNodeMs = 400;
  const events = [];
  for (const t of ['node-info', 'reconnecting', 'reconnected', 'rejoin-failed', 'gave-up', 'invalid']) {
    sc.addEventListener(t, (ev) => events.push([t, /** @type {CustomEvent} */ (ev).detail]));
  }
  try {
    await sc.connect(a.wsUrl);
    const first = await sc.join('k7m2pq9x', 'Ada', { audio: true, video: false });
    assert.equal(first.userId, 'uA');
    assert.deepEqual(sc.nodeUrls, [a.wsUrl, b.wsUrl, c.wsUrl]);
    assert.equal(events[0][0], 'node-info');

    const lost = Date.now();
    await a.close(); // A dies: its socket drops, its port refuses
    setTimeout(() => { placed = true; }, 250); // the cluster forgets A in a while
    const rejoined = await new Promise((resolve, reject) => {
      sc.addEventListener('reconnected', (ev) => resolve(/** @type {CustomEvent} */ (ev).detail));
      sc.addEventListener('rejoin-failed', (ev) => reject(/** @type {CustomEvent} */ (ev).detail));
      setTimeout(() => reject(new Error(`not rejoined: ${JSON.stringify(events)}`)), 10000);
    });
    assert.equal(rejoined.userId, 'uB');
    assert.equal(rejoined.resumed, false);
    assert.equal(rejoined.chatHistory[0].message, 'before');
    assert.equal(sc.url, b.wsUrl);
    assert.equal(sc.joined, true);
    // on B: joins only (A's resume token means nothing there), the same name and media; the second one
    // on the same socket, deadNodeMs after the loss
    const joins = b.msgs.filter((m) => m.type === 'join-meeting');
    assert.deepEqual(b.msgs.map((m) => m.type), ['join-meeting', 'join-meeting']);
    for (const j of joins) assert.deepEqual({ ...j, at: 0 }, { type: 'join-meeting', meetingId: 'k7m2pq9x', username: 'Ada', audio: true, video: false, at: 0 });
    assert.ok(joins[1].at - lost >= 400, `asked again ${joins[1].at - lost} ms after the loss`);
    assert.equal(b.wss.clients.size, 1, 'one socket to B');
    assert.equal(c.msgs.length, 0, 'C was not needed');
    assert.ok(!events.some(([t]) => t === 'invalid' || t === 'gave-up'), JSON.stringify(events));
  } finally {
    sc.close();
    await b.close();
    await c.close();
  }
});

test('the next node refuses too: the one after it is tried', { timeout: 20000 }, async () => {
  const nodes = [];
  const info = (n) => ({ type: 'node-info', node: 'x', url: n.url, nodes: nodes.map((x) => x.url), iceServers: [] });
  const answer = (msg, n, userId) => [info(n), {
    type: 'existing-users', meetingId: msg.meetingId, userId, users: [], chatHistory: [], resumeToken: 't'.repeat(43),
  }];
  const a = await node((msg, ws, n) => (msg.type === 'join-meeting' ? answer(msg, n, 'uA') : []));
  const b = await node(() => []);
  const c = await node((msg, ws, n) => (msg.type === 'join-meeting' ? answer(msg, n, 'uC') : []));
  nodes.push(a, b, c);
  const sc = new SignalingClient();
  sc.retry = new Retry({ baseMs: 20, jitter: 0 });
  try {
    await sc.connect(a.wsUrl);
    await sc.join('k7m2pq9x', 'Ada', { audio: true, video: true });
    await b.close();
    await a.close();
    const rejoined = await new Promise((resolve, reject) => {
      sc.addEventListener('reconnected', (ev) => resolve(/** @type {CustomEvent} */ (ev).detail));
      setTimeout(() => reject(new Error('not rejoined')), 5000);
    });
    assert.equal(rejoined.userId, 'uC');
    assert.equal(sc.url, c.wsUrl);
  } finally {
    sc.close();
    await c.close();
  }
});
