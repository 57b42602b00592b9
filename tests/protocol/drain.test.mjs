// Draining a node (README, "Draining a node"; PROTOCOL.md, "Several nodes"): Redis and three nodes
// started by the suite. POST /admin/drain (ADMIN_TOKEN, bearer) or SIGUSR1 drains a node: it says
// draining=1 in Redis at once, new meetings never land on it, each of its live meetings is handed to a
// live node and its people get `moved` (reason "draining") with that node's URL; joining there works
// and the drained node's meetings reach 0. With no node left to take them, meetings finish where they
// are. A wrong or missing token is refused; without ADMIN_TOKEN there is no endpoint. Without Redis,
// a drained single node refuses new meetings and lets the live ones finish.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { redisCli } from '../lib/redis.mjs';
import { startCluster, health, metric, createMeeting } from '../lib/cluster.mjs';
import { connect, connectAndJoin, closeAll, randomMeetingId, sleep } from './client.mjs';

const T = { timeout: 60000 };
const TOKEN = 'drain-test-token-3f9a';

async function waitFor(what, fn, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** POST /admin/drain with `auth` as the Authorization header (none when null). */
async function postDrain(node, auth, method = 'POST') {
  const res = await fetch(`${node.url}/admin/drain`, {
    method, headers: auth === null ? {} : { authorization: auth }, signal: AbortSignal.timeout(3000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** A meeting created through the cluster until one is placed on `node`. */
async function meetingOn(nodes, node) {
  for (let i = 0; i < 30; i++) {
    const { status, body } = await createMeeting(nodes[i % nodes.length]);
    assert.equal(status, 200, JSON.stringify(body));
    if (body.node === node.id) return body.meetingId;
  }
  throw new Error(`no meeting placed on ${node.id} in 30 tries`);
}

/** Two people (ws clients) in a meeting placed on `node`, chatting. */
async function twoIn(nodes, node, tag) {
  const id = await meetingOn(nodes, node);
  const a = await connectAndJoin(node.wsUrl, id, `${tag}-Ada`);
  const b = await connectAndJoin(node.wsUrl, id, `${tag}-Bob`);
  await a.client.next('user-joined');
  return { id, a: a.client, b: b.client };
}

/**
 * What the web app does on a `moved` mid-meeting: a new socket to the named node, the same join.
 * Resolves with {client, joined, node}.
 */
async function follow(nodes, client, moved, username) {
  const to = nodes.find((n) => n.url === moved.url);
  assert.ok(to, `moved to an unknown node: ${moved.url}`);
  await client.close();
  const r = await connectAndJoin(to.wsUrl, moved.meetingId, username);
  return { ...r, node: to };
}

describe('draining a node of a cluster', { timeout: 300000 }, () => {
  let cluster;
  let redis;
  let nodes;

  before(async () => {
    cluster = await startCluster({ nodes: 3, rtcPorts: 43000, env: { ADMIN_TOKEN: TOKEN } });
    ({ redis, nodes } = cluster);
  });

  after(() => cluster?.stop());

  test('a wrong or missing token is refused, GET is not a drain; nothing drains', T, async () => {
    const n = nodes[0];
    for (const auth of [null, '', 'Bearer', 'Bearer wrong', `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN]) {
      const r = await postDrain(n, auth);
      assert.equal(r.status, 401, `${auth}: ${r.status}`);
      assert.deepEqual(r.body, { error: 'unauthorized' });
    }
    assert.equal((await postDrain(n, `Bearer ${TOKEN}`, 'GET')).status, 405);
    const h = await health(n);
    assert.equal(h.draining, false);
    assert.equal(h.drained, undefined);
    assert.equal(await metric(n, 'videomeet_draining'), 0);
    assert.equal(await redisCli(redis.port, 'HGET', 'vm:node:node0', 'draining'), '0');
    assert.match(n.output(), /POST \/admin\/drain refused \(wrong token\)/);
    assert.doesNotMatch(n.output(), new RegExp(TOKEN), 'the token is never logged');
  });

  test('POST /admin/drain: its meetings move to a live node, their people join there, it ends with 0 meetings and gets no new ones', T, async () => {
    const [d] = nodes;
    const m1 = await twoIn(nodes, d, 'm1');
    const m2 = await twoIn(nodes, d, 'm2');
    const unjoined = await meetingOn(nodes, d); // a link made before the drain, nobody in it yet
    // node0 has told Redis of its 4 people, so its refresh already keeps both meetings owned: the
    // handoff must stop that at once (a refresh between the handoff and the node's next report of
    // its meetings claimed them back: a split, CI of 4 December)
    await waitFor('node0 reported its 4 participants', async () => (await redisCli(redis.port, 'HGET', 'vm:node:node0', 'participants')) === '4', 5000);
    const t0 = Date.now();
    const r = await postDrain(d, `Bearer ${TOKEN}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.draining, true);
    assert.equal(r.body.participants, 4);
    // draining=1 in Redis at once (not at the next 2-s registration)
    assert.equal(await waitFor('draining=1', async () => (await redisCli(redis.port, 'HGET', 'vm:node:node0', 'draining')) === '1', 1000), true);
    const moves = [];
    for (const m of [m1, m2]) {
      const [ma, mb] = [await m.a.next('moved', 5000), await m.b.next('moved', 5000)];
      moves.push(Date.now() - t0);
      for (const mv of [ma, mb]) {
        assert.deepEqual(Object.keys(mv).sort(), ['meetingId', 'reason', 'type', 'url']);
        assert.equal(mv.meetingId, m.id);
        assert.equal(mv.reason, 'draining');
        assert.ok([nodes[1].url, nodes[2].url].includes(mv.url), mv.url);
      }
      assert.equal(ma.url, mb.url);
      const owner = nodes.find((n) => n.url === ma.url);
      assert.equal(await redisCli(redis.port, 'GET', `vm:meeting:${m.id}`), owner.id, 'the owner changed in Redis');
      assert.equal(await redisCli(redis.port, 'ZSCORE', 'vm:owned:node0', m.id), '', 'no longer placed on node0');
      // both follow: the second one sees the first there
      const a2 = await follow(nodes, m.a, ma, `${m.id}-Ada`);
      const b2 = await follow(nodes, m.b, mb, `${m.id}-Bob`);
      assert.deepEqual(b2.joined.users.map((u) => u.username), [`${m.id}-Ada`]);
      a2.client.send({ type: 'chat-message', message: 'moved along' });
      assert.equal((await b2.client.next('receive-message')).message, 'moved along');
      m.moved = [a2.client, b2.client];
    }
    console.log(`# moved told after ${moves.join(', ')} ms`);
    // the drained node: no meetings left, and it says so
    const h = await waitFor('node0 drained', async () => { const x = await health(d); return x.meetings === 0 && x; }, 5000);
    assert.equal(h.draining, true);
    assert.equal(h.drained, true);
    assert.equal(h.participants, 0);
    assert.equal(await metric(d, 'videomeet_draining'), 1);
    assert.equal(await metric(d, 'videomeet_drained'), 1);
    assert.equal(await metric(d, 'videomeet_drain_meetings_moved_total'), 2); // the unjoined link is no live meeting
    assert.equal(await metric(d, 'videomeet_cluster_owner_conflicts_total'), 0);
    // new meetings never go to it, through any node (itself included)
    for (let i = 0; i < 12; i++) {
      const { status, body } = await createMeeting(nodes[i % 3]);
      assert.equal(status, 200);
      assert.notEqual(body.node, 'node0');
    }
    // a join of a new meeting on it is moved to a live node
    const s = await connect(d.wsUrl);
    const fresh = randomMeetingId();
    s.send({ type: 'join-meeting', meetingId: fresh, username: 'Late' });
    const mv = await s.next((x) => ['moved', 'error', 'existing-users'].includes(x.type), 5000);
    assert.equal(mv.type, 'moved', JSON.stringify(mv));
    assert.notEqual(mv.url, d.url);
    assert.equal(mv.reason, undefined, 'a join answered moved, not a mid-meeting move');
    await s.close();
    // a join of a handed-over meeting that reaches it is moved to the new owner
    const s2 = await connect(d.wsUrl);
    s2.send({ type: 'join-meeting', meetingId: m1.id, username: 'Late2' });
    const mv2 = await s2.next('moved', 5000);
    const owner1 = await redisCli(redis.port, 'GET', `vm:meeting:${m1.id}`);
    assert.equal(mv2.url, nodes.find((n) => n.id === owner1).url);
    // the link made before the drain still works: Redis names the drained node its owner, so the
    // join starts there, and the meeting is handed over within a sweep (1 s): moved, joined elsewhere
    const u = await connectAndJoin(d.wsUrl, unjoined, 'Early');
    const mu = await u.client.next('moved', 3000);
    assert.equal(mu.reason, 'draining');
    assert.notEqual(mu.url, d.url);
    const u2 = await follow(nodes, u.client, mu, 'Early');
    assert.notEqual(u2.node, d);
    await waitFor('node0 drained again', async () => (await health(d)).drained === true, 5000);
    await closeAll(s2, u2.client, ...m1.moved, ...m2.moved);
  });

  test('SIGUSR1 drains too; with no node left to take them, meetings finish where they are', T, async () => {
    const [, n1, n2] = nodes;
    const m = await twoIn(nodes, n1, 'sig');
    n1.proc.kill('SIGUSR1');
    const [ma, mb] = [await m.a.next('moved', 5000), await m.b.next('moved', 5000)];
    assert.equal(ma.url, n2.url, 'the only live node that does not drain');
    assert.equal(mb.url, n2.url);
    await waitFor('draining=1', async () => (await redisCli(redis.port, 'HGET', 'vm:node:node1', 'draining')) === '1', 2000);
    const a2 = await follow(nodes, m.a, ma, 'sig-Ada');
    const b2 = await follow(nodes, m.b, mb, 'sig-Bob');
    assert.equal(b2.joined.users.length, 1);
    await waitFor('node1 drained', async () => (await health(n1)).drained === true, 5000);
    assert.match(n1.output(), /signal 10: draining/);

    // node2 is the last node that takes meetings: drained, its meeting has nowhere to go and stays
    const r = await postDrain(n2, `Bearer ${TOKEN}`);
    assert.equal(r.status, 200);
    await waitFor('the meeting stays', async () => (await metric(n2, 'videomeet_drain_meetings_staying')) === 1, 5000);
    const h = await health(n2);
    assert.equal(h.draining, true);
    assert.equal(h.drained, false);
    assert.equal(h.meetings, 1);
    // it goes on: chat, and a third person joins the live meeting
    a2.client.send({ type: 'chat-message', message: 'still here' });
    assert.equal((await b2.client.next('receive-message')).message, 'still here');
    const c = await connectAndJoin(n2.wsUrl, m.id, 'sig-Cy');
    assert.equal(c.joined.users.length, 2);
    // nobody takes new meetings now: refused with a clear error, on every node
    for (const n of nodes) {
      const cr = await createMeeting(n);
      assert.equal(cr.status, 503);
      assert.deepEqual(cr.body, { error: 'server-busy', reason: 'draining' });
    }
    const s = await connect(n2.wsUrl);
    s.send({ type: 'join-meeting', meetingId: randomMeetingId(), username: 'New' });
    const e = await s.expectError('server-busy', 'join-meeting');
    assert.equal(e.reason, 'draining');
    await s.close();
    assert.equal(a2.client.closeInfo, null, 'the staying meeting was not ended');
    // it finishes when its people leave
    await closeAll(a2.client, b2.client, c.client);
    await waitFor('node2 drained', async () => (await health(n2)).drained === true, 5000);
    assert.equal(await metric(n2, 'videomeet_drained'), 1);
  });
});

describe('draining without Redis (a single node)', { timeout: 60000 }, () => {
  test('no ADMIN_TOKEN: no endpoint; SIGUSR1: new meetings refused, the live one finishes', T, async () => {
    const srv = await startServer();
    try {
      assert.equal((await postDrain(srv, `Bearer ${TOKEN}`)).status, 404);
      assert.equal((await postDrain(srv, null)).status, 404);
      const id = (await createMeeting(srv)).body.meetingId;
      const a = await connectAndJoin(srv.wsUrl, id, 'Ada');
      srv.proc.kill('SIGUSR1');
      await waitFor('draining', async () => (await health(srv)).draining === true, 3000);
      const cr = await createMeeting(srv);
      assert.equal(cr.status, 503);
      assert.deepEqual(cr.body, { error: 'server-busy', reason: 'draining' });
      const s = await connect(srv.wsUrl);
      s.send({ type: 'join-meeting', meetingId: randomMeetingId(), username: 'New' });
      assert.equal((await s.expectError('server-busy', 'join-meeting')).reason, 'draining');
      // the live meeting goes on and can still be joined
      s.send({ type: 'join-meeting', meetingId: id, username: 'Bob' });
      const joined = await s.next('existing-users');
      assert.equal(joined.users.length, 1);
      await a.client.next('user-joined');
      assert.equal((await health(srv)).drained, false);
      await closeAll(a.client, s);
      await waitFor('drained', async () => (await health(srv)).drained === true, 5000);
      assert.equal((await health(srv)).meetings, 0);
    } finally {
      await srv.stop();
    }
  });
});
