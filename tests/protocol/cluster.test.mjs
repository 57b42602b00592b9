// Several nodes sharing meetings through Redis (README, "Several nodes"; PROTOCOL.md, "Several nodes"):
// the suite starts its own redis-server (Debian's, on a free loopback port, no persistence, its own
// directory) and three nodes. New meetings spread over the nodes; a page or a join on the wrong node
// is sent to the owner (302 / `moved`); two nodes starting one meeting at once end with one owner and
// both people in it; with Redis killed live meetings go on, new ones are refused with a clear error,
// nothing crashes; with Redis back the nodes register again and new meetings are placed again.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { startRedis, redisCli } from '../lib/redis.mjs';
import { startCluster, startNode, waitFormed, health, metric, createMeeting } from '../lib/cluster.mjs';
import { connect, connectAndJoin, closeAll, httpGet, rawHttp, randomMeetingId, sleep, MEETING_ID_RE } from './client.mjs';

const T = { timeout: 30000 };

/** Joins meetingId starting at `node`, following one `moved`; resolves with {client, joined, node, moved}. */
async function joinAnywhere(nodes, node, meetingId, username) {
  const c = await connect(node.wsUrl, { name: username });
  c.send({ type: 'join-meeting', meetingId, username });
  const m = await c.next((x) => ['existing-users', 'moved', 'error'].includes(x.type), 5000);
  if (m.type === 'existing-users') return { client: c, joined: m, node, moved: null };
  assert.equal(m.type, 'moved', `${username}: ${JSON.stringify(m)}`);
  assert.equal(m.meetingId, meetingId);
  const owner = nodes.find((n) => n.url === m.url);
  assert.ok(owner, `moved to an unknown node: ${m.url}`);
  assert.notEqual(owner, node, 'moved to the node it was on');
  await c.close();
  const r = await connectAndJoin(owner.wsUrl, meetingId, username);
  return { ...r, node: owner, moved: m };
}

describe('several nodes through Redis', { timeout: 240000 }, () => {
  let cluster;
  let redis;
  let redisPort;
  let nodes;

  before(async () => {
    cluster = await startCluster({ nodes: 3, rtcPorts: 42000, env: { MEETING_GRACE_SECONDS: '60' } });
    ({ redis, nodes } = cluster);
    redisPort = redis.port;
  });

  after(() => cluster?.stop()); // the nodes a test added too

  test('every node registers itself with its URL, capacity and load, with a TTL', T, async () => {
    const ids = (await redisCli(redisPort, 'SMEMBERS', 'vm:nodes')).split('\n').sort();
    assert.deepEqual(ids, ['node0', 'node1', 'node2']);
    for (const n of nodes) {
      const url = await redisCli(redisPort, 'HGET', `vm:node:${n.id}`, 'url');
      assert.equal(url, n.url);
      assert.equal(await redisCli(redisPort, 'HGET', `vm:node:${n.id}`, 'capacity'), '500');
      assert.match(await redisCli(redisPort, 'HGET', `vm:node:${n.id}`, 'media'), /^127\.0\.0\.1 udp 42\d{3}-42\d{3}$/);
      for (const f of ['participants', 'meetings', 'pps', 'cpu', 'updated']) {
        assert.match(await redisCli(redisPort, 'HGET', `vm:node:${n.id}`, f), /^\d+(\.\d+)?$/, f);
      }
      const ttl = Number(await redisCli(redisPort, 'PTTL', `vm:node:${n.id}`));
      assert.ok(ttl > 0 && ttl <= 6000, `TTL ${ttl}`);
      const h = await health(n);
      assert.equal(h.node, n.id);
      assert.equal(h.status, 'ok');
    }
  });

  test('30 meetings created through any node spread over all three', T, async () => {
    const before = {};
    for (const n of nodes) before[n.id] = await metric(n, 'videomeet_cluster_meetings_placed_here');
    const counts = { node0: 0, node1: 0, node2: 0 };
    for (let i = 0; i < 30; i++) {
      const { status, body } = await createMeeting(nodes[i % 3]);
      assert.equal(status, 200, JSON.stringify(body));
      assert.match(body.meetingId, MEETING_ID_RE);
      assert.ok(body.node in counts, JSON.stringify(body));
      assert.equal(body.url, nodes.find((n) => n.id === body.node).url);
      assert.equal(await redisCli(redisPort, 'GET', `vm:meeting:${body.meetingId}`), body.node);
      counts[body.node]++;
    }
    // balanced: nobody gets less than 8 or more than 12 of 30 (each node balances its own placements
    // at once and everybody's within one registration period)
    for (const [id, k] of Object.entries(counts)) assert.ok(k >= 8 && k <= 12, `${id}: ${k} of 30 ${JSON.stringify(counts)}`);
    await sleep(2500); // one registration: each node counts what was placed on it
    for (const n of nodes) {
      const now = await metric(n, 'videomeet_cluster_meetings_placed_here');
      assert.equal(now - before[n.id], counts[n.id], `${n.id} counts ${now - before[n.id]}`);
      assert.equal(Number(await redisCli(redisPort, 'HGET', `vm:node:${n.id}`, 'meetings')), now);
      assert.equal(await metric(n, 'videomeet_cluster_nodes_alive'), 3);
    }
  });

  test('a page or a join on the wrong node is sent to the owner, and joining there works', T, async () => {
    const { body } = await createMeeting(nodes[0]);
    const owner = nodes.find((n) => n.id === body.node);
    const other = nodes.find((n) => n !== owner);
    const page = await rawHttp(other.port, `/m/${body.meetingId.toUpperCase()}`);
    assert.equal(page.status, 302);
    assert.equal(page.headers.location, `${owner.url}/m/${body.meetingId}`);
    const here = await rawHttp(owner.port, `/m/${body.meetingId}`);
    assert.equal(here.status, 200);
    assert.match(here.body, /<html/i);
    // the page may open another node's WebSocket when told `moved` (a single node allows only its own)
    const csp = here.headers['content-security-policy'];
    assert.match(csp, /connect-src 'self' ws: wss:;/, csp);
    assert.match(csp, /script-src 'self';/, csp);

    const a = await joinAnywhere(nodes, other, body.meetingId, 'Ada');
    assert.equal(a.node, owner);
    assert.equal(a.moved.url, owner.url);
    // the second participant starts on the owner: joined at once, and sees the first
    const b = await joinAnywhere(nodes, owner, body.meetingId, 'Bob');
    assert.equal(b.moved, null);
    assert.deepEqual(b.joined.users.map((u) => u.username), ['Ada']);
    await a.client.next('user-joined');
    // a page of a meeting live on its node is served there
    assert.equal((await rawHttp(owner.port, `/m/${body.meetingId}`)).status, 200);
    assert.ok(await metric(other, 'videomeet_cluster_moved_total') >= 2);
    await closeAll(a.client, b.client);
  });

  test('two nodes starting the same meeting at once end with one owner and both people in it', T, async () => {
    for (let round = 0; round < 6; round++) {
      const id = randomMeetingId();
      const [x, y] = [nodes[round % 3], nodes[(round + 1) % 3]];
      const [a, b] = await Promise.all([joinAnywhere(nodes, x, id, `A${round}`), joinAnywhere(nodes, y, id, `B${round}`)]);
      assert.equal(a.node, b.node, `round ${round}: ${a.node.id} and ${b.node.id}`);
      assert.equal(await redisCli(redisPort, 'GET', `vm:meeting:${id}`), a.node.id);
      // both in one meeting: whoever joined second saw the first
      const names = [a.joined.users.map((u) => u.username), b.joined.users.map((u) => u.username)];
      assert.ok((names[0].length === 0 && names[1][0] === `A${round}`) || (names[1].length === 0 && names[0][0] === `B${round}`),
        `round ${round}: ${JSON.stringify(names)}`);
      a.client.send({ type: 'chat-message', message: `hello ${round}` });
      assert.equal((await b.client.next('receive-message')).message, `hello ${round}`);
      // the meeting lives on exactly one node
      const live = await Promise.all(nodes.map(async (n) => (await health(n)).participants));
      assert.equal(live.reduce((s, k) => s + k, 0), 2 + 0, `participants per node ${live}`);
      await closeAll(a.client, b.client);
    }
  });

  test('a meeting live on two nodes (a split, as after Redis came back empty) comes together on the owner Redis names', T, async () => {
    const id = randomMeetingId();
    const a = await joinAnywhere(nodes, nodes[0], id, 'SplitA');
    const here = a.node;
    const there = nodes.find((n) => n !== here);
    // Redis forgets that `here` owns it and names `there` (what a Redis restart followed by a join
    // through `there` before `here` claims it again leaves behind); a join through `there` starts it there
    await redisCli(redisPort, 'SET', `vm:meeting:${id}`, there.id, 'PX', '60000');
    const b = await connectAndJoin(there.wsUrl, id, 'SplitB');
    assert.equal(b.joined.users.length, 0, 'a second copy of the meeting');
    // `here` finds the split at its next registration (every 2 s) and sends its people to the owner
    const m = await a.client.next('moved', 6000);
    assert.deepEqual({ meetingId: m.meetingId, url: m.url, reason: m.reason }, { meetingId: id, url: there.url, reason: 'split' });
    await a.client.close();
    const a2 = await connectAndJoin(there.wsUrl, id, 'SplitA');
    assert.deepEqual(a2.joined.users.map((u) => u.username), ['SplitB']);
    await b.client.next('user-joined');
    a2.client.send({ type: 'chat-message', message: 'together' });
    assert.equal((await b.client.next('receive-message')).message, 'together');
    assert.equal(await metric(here, 'videomeet_cluster_split_moves_total'), 1);
    assert.ok(await metric(here, 'videomeet_cluster_owner_conflicts_total') >= 1);
    // the empty copy goes: a join through `here` is moved to the owner now, not joined there
    const deadline = Date.now() + 6000;
    for (;;) {
      const c = await joinAnywhere(nodes, here, id, 'SplitC');
      if (c.node === there) {
        assert.equal(c.joined.users.length, 2);
        await c.client.close();
        break;
      }
      await c.client.close();
      assert.ok(Date.now() < deadline, 'the copy on the old node is still joined');
      await sleep(500);
    }
    assert.equal(await redisCli(redisPort, 'GET', `vm:meeting:${id}`), there.id);
    await closeAll(a2.client, b.client);
  });

  test('a node that stops leaves at once, a node that dies disappears within 6 s; their meetings are placed again', { timeout: 60000 }, async () => {
    const extra = [];
    for (const [i, how] of [[3, 'stop'], [4, 'kill']]) {
      // the extra nodes keep the default meeting grace
      extra.push(Object.assign(await cluster.addNode(i, {}), { how }));
    }
    await cluster.waitFormed([...nodes, ...extra], 5);
    for (const n of extra) {
      // a meeting placed on it: a new id joined there directly (the idle new node is the least loaded)
      const id = randomMeetingId();
      const p = await joinAnywhere([...nodes, ...extra], n, id, `On${n.id}`);
      assert.equal(p.node, n, `placed on ${p.node.id}`);
      await p.client.close();
      const t0 = Date.now();
      if (n.how === 'stop') {
        await n.stop();
        assert.equal(await redisCli(redisPort, 'EXISTS', `vm:node:${n.id}`), '0', 'a stopped node leaves at once');
      } else {
        n.kill();
        while ((await redisCli(redisPort, 'EXISTS', `vm:node:${n.id}`)) !== '0') {
          assert.ok(Date.now() - t0 < 8000, 'the dead node\'s record did not expire');
          await sleep(200);
        }
        assert.ok(Date.now() - t0 > 1000, 'the record expired by its TTL, not at once');
      }
      // its meeting is placed again on a live node by the next join (the other extra node, when
      // still running, is the least loaded and may well take it)
      const alive = [...nodes, ...extra.filter((x) => x.isRunning())];
      const q = await joinAnywhere(alive, nodes[0], id, 'Again');
      assert.notEqual(q.node, n, 'placed again on the node that is gone');
      assert.equal(await redisCli(redisPort, 'GET', `vm:meeting:${id}`), q.node.id);
      await q.client.close();
    }
    await cluster.waitFormed();
  });

  test('Redis killed: live meetings go on, new ones are refused clearly, nothing crashes; Redis back: it recovers', { timeout: 60000 }, async () => {
    const id = randomMeetingId();
    const a = await joinAnywhere(nodes, nodes[1], id, 'Live1');
    const owner = a.node;
    const b = await joinAnywhere(nodes, nodes[2], id, 'Live2');
    assert.equal(b.node, owner);
    await a.client.next('user-joined');

    await redis.kill();
    // every node notices (its next registration fails)
    const deadline = Date.now() + 10000;
    while (!(await Promise.all(nodes.map(health))).every((h) => h.redis === 'down')) {
      assert.ok(Date.now() < deadline, 'nodes did not notice Redis is gone');
      await sleep(200);
    }
    // the live meeting goes on: chat both ways, a third person joins it on its node
    a.client.send({ type: 'chat-message', message: 'without redis' });
    assert.equal((await b.client.next('receive-message')).message, 'without redis');
    const c = await connectAndJoin(owner.wsUrl, id, 'Live3');
    assert.equal(c.joined.users.length, 2);
    // new meetings are refused with a clear error, on every node
    for (const n of nodes) {
      const r = await createMeeting(n);
      assert.equal(r.status, 503);
      assert.deepEqual(r.body, { error: 'server-busy', reason: 'cluster' });
      const s = await connect(n.wsUrl);
      s.send({ type: 'join-meeting', meetingId: randomMeetingId(), username: 'New' });
      const e = await s.expectError('server-busy', 'join-meeting');
      assert.equal(e.reason, 'cluster');
      await s.ping(); // the socket stays open
      await s.close();
      assert.ok(await metric(n, 'videomeet_cluster_redis_errors_total') > 0);
      assert.equal(await metric(n, 'videomeet_cluster_redis_up'), 0);
    }
    // the page of a meeting elsewhere is still served (the join then says what is wrong)
    assert.equal((await rawHttp(nodes[0].port, `/m/${randomMeetingId()}`)).status, 200);
    for (const n of nodes) assert.ok(n.isRunning(), `${n.id} died`);

    // Redis back (empty: no persistence): registration resumes, the live meeting is owned again
    await redis.restart();
    await cluster.waitFormed();
    const deadline2 = Date.now() + 6000;
    while ((await redisCli(redisPort, 'GET', `vm:meeting:${id}`)) !== owner.id) {
      assert.ok(Date.now() < deadline2, 'the live meeting was not claimed again');
      await sleep(200);
    }
    const r = await createMeeting(nodes[0]);
    assert.equal(r.status, 200);
    const d = await joinAnywhere(nodes, nodes[0], id, 'Live4');
    assert.equal(d.node, owner);
    assert.equal(d.joined.users.length, 3);
    a.client.send({ type: 'chat-message', message: 'with redis again' });
    assert.equal((await d.client.next('receive-message')).message, 'with redis again');
    await closeAll(a.client, b.client, c.client, d.client);
  });
});

describe('Redis with a password', { timeout: 60000 }, () => {
  test('the right password registers the node; a wrong one is a Redis that is down, nothing crashes', T, async () => {
    const redis = await startRedis({ password: 'p@ss/w0rd' });
    const started = [];
    try {
      for (const [id, url] of [['good', redis.url], ['bad', `redis://:wrong@127.0.0.1:${redis.port}`]]) {
        started.push(await startNode(url, id));
      }
      const [good, bad] = started;
      await waitFormed([good], 1);
      assert.equal(await redisCli(redis, 'HGET', 'vm:node:good', 'url'), good.url);
      assert.equal(await redisCli(redis, 'EXISTS', 'vm:node:bad'), '0');
      const h = await health(bad);
      assert.equal(h.redis, 'down');
      assert.ok(await metric(bad, 'videomeet_cluster_redis_errors_total') > 0);
      assert.equal((await createMeeting(bad)).status, 503);
      assert.equal((await createMeeting(good)).status, 200);
      assert.doesNotMatch(bad.output(), /wrong/, 'the password is not logged');
    } finally {
      for (const s of started) await s.stop();
      await redis.stop();
    }
  });
});

describe('without REDIS_URL', { timeout: 30000 }, () => {
  test('a single node: no cluster fields, no cluster metrics', T, async () => {
    const srv = await startServer();
    try {
      const h = await health(srv);
      assert.equal(h.redis, undefined);
      assert.equal(h.node, undefined);
      const { text } = await httpGet(`${srv.url}/metrics`);
      assert.doesNotMatch(text, /videomeet_cluster_/);
      const { res, text: body } = await httpGet(`${srv.url}/api/create-meeting`);
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(JSON.parse(body)), ['meetingId']);
    } finally {
      await srv.stop();
    }
  });
});
