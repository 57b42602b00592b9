// Chat history of several nodes (README and PROTOCOL.md, "Several nodes"): while a meeting lives, its
// chat is also kept in Redis (vm:chat:<id>, at most the 50 messages of the in-memory history, with the
// meeting's lifetime); when the node that owns the meeting dies (SIGKILL), the next join through another
// node places the meeting on a live node, which reads the history back before it answers: the joiners
// see the same messages (same ids, authors, times, no duplicates) and the next message is numbered on.
// Each join and resume answer of a node in a cluster is preceded by `node-info` (this node, the live
// nodes, this node's iceServers). The suite starts its own redis-server and three nodes.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { redisCli } from '../lib/redis.mjs';
import { startCluster } from '../lib/cluster.mjs';
import { connect, closeAll, httpGet, randomMeetingId, sleep } from './client.mjs';

const GRACE_S = 60;

/**
 * Joins meetingId through `via`, following `moved` to a live node; a `moved` to a node that does not
 * answer (it died and its record has not expired yet) is tried again through `via` a little later.
 * Resolves with {client, joined, node, info (the node-info before existing-users), tries}.
 */
async function joinThrough(nodes, via, meetingId, username, timeoutMs = 12000) {
  const deadline = Date.now() + timeoutMs;
  for (let tries = 1; ; tries++) {
    let target = via;
    for (let hop = 0; hop < 3; hop++) {
      let c;
      try {
        c = await connect(target.wsUrl, { name: username });
      } catch {
        break; // that node is dead
      }
      c.send({ type: 'join-meeting', meetingId, username });
      const m = await c.next((x) => ['existing-users', 'moved', 'error'].includes(x.type), 5000);
      if (m.type === 'existing-users') {
        const info = await c.next('node-info', 100);
        return { client: c, joined: m, node: target, info, tries };
      }
      await c.close();
      assert.equal(m.type, 'moved', `${username}: ${JSON.stringify(m)}`);
      target = nodes.find((n) => n.url === m.url);
      assert.ok(target, `moved to an unknown node ${m.url}`);
    }
    assert.ok(Date.now() < deadline, `${username} could not join ${meetingId} within ${timeoutMs} ms`);
    await sleep(300);
  }
}

async function storedChat(port, id) {
  const text = await redisCli(port, 'LRANGE', `vm:chat:${id}`, '0', '-1');
  return text ? text.split('\n').map((l) => JSON.parse(l)) : [];
}

const entry = ({ id, userId, username, message, timestamp }) => ({ id, userId, username, message, timestamp });

describe('chat history of several nodes, through Redis', { timeout: 180000 }, () => {
  let cluster;
  let redis;
  let nodes;

  before(async () => {
    cluster = await startCluster({
      nodes: 3, idPrefix: 'chat', rtcPorts: 43000,
      env: {
        MEETING_GRACE_SECONDS: String(GRACE_S),
        // every client of this file comes from 127.0.0.1: joins retried after a node died count as starts
        ADDRESS_MEETINGS_PER_MINUTE: '1000', ADDRESS_UNKNOWN_JOINS_PER_MINUTE: '1000',
      },
      nodeEnv: (i) => ({ STUN_URLS: `stun:stun${i}.example.com:3478` }),
    });
    ({ redis, nodes } = cluster);
  });

  after(() => cluster?.stop());

  test('node-info precedes existing-users: this node, the live nodes, its own iceServers', { timeout: 30000 }, async () => {
    const id = randomMeetingId();
    const a = await joinThrough(nodes, nodes[1], id, 'Info');
    assert.equal(a.info.node, a.node.id);
    assert.equal(a.info.url, a.node.url);
    assert.equal(a.info.nodes[0], a.node.url, 'this node first');
    assert.deepEqual([...a.info.nodes].sort(), nodes.map((n) => n.url).sort());
    // the iceServers of the node that let us in: what its /api/config gives
    const cfg = JSON.parse((await httpGet(`${a.node.url}/api/config`)).text);
    assert.deepEqual(a.info.iceServers, cfg.iceServers);
    assert.deepEqual(a.info.iceServers, [{ urls: [`stun:stun${nodes.indexOf(a.node)}.example.com:3478`] }]);
    // it comes before the answer
    const order = a.client.received.map((m) => m.type);
    assert.equal(order.indexOf('node-info'), order.indexOf('existing-users') - 1, order.join());
    // and before a resume's answer (on a new socket, which replaces the first one)
    const r = await connect(a.node.wsUrl, { name: 'Info2' });
    r.send({ type: 'resume-meeting', meetingId: id, userId: a.joined.userId, resumeToken: a.joined.resumeToken });
    const info = await r.next('node-info');
    assert.equal(info.node, a.node.id);
    const resumed = await r.next('existing-users');
    assert.equal(resumed.resumed, true);
    await closeAll(r, a.client);
  });

  test('chat written on a node that is then killed is there, intact, when the meeting is taken over', { timeout: 60000 }, async () => {
    const id = randomMeetingId();
    const ada = await joinThrough(nodes, nodes[0], id, 'Ada');
    const owner = ada.node;
    const bob = await joinThrough(nodes, nodes[2], id, 'Bob');
    assert.equal(bob.node, owner);
    const texts = [['Ada', 'hello "all" \\ <b>bold</b>'], ['Bob', 'Zoë says ☃ 🙂\nsecond line'], ['Ada', 'third']];
    const sent = [];
    for (const [who, message] of texts) {
      (who === 'Ada' ? ada : bob).client.send({ type: 'chat-message', message });
      sent.push(entry(await ada.client.next('receive-message')));
    }
    assert.deepEqual(sent.map((c) => c.id), [1, 2, 3]);
    // in Redis as sent, with the meeting's lifetime
    let stored = [];
    for (let i = 0; i < 50 && stored.length < 3; i++) {
      stored = await storedChat(redis.port, id);
      if (stored.length < 3) await sleep(100);
    }
    assert.deepEqual(stored, sent);
    const ttl = Number(await redisCli(redis.port, 'PTTL', `vm:chat:${id}`));
    assert.ok(ttl > (GRACE_S - 5) * 1000 && ttl <= GRACE_S * 1000, `TTL ${ttl}`);

    // the owner dies
    const t0 = Date.now();
    owner.kill();
    const alive = nodes.filter((n) => n !== owner);
    // Carl joins through a live node, asking again while it still sends him to the dead owner
    const carl = await joinThrough(nodes, alive[0], id, 'Carl');
    const took = Date.now() - t0;
    console.log(`# meeting taken over by ${carl.node.id} ${took} ms after ${owner.id} was killed (${carl.tries} tries)`);
    assert.notEqual(carl.node, owner);
    assert.ok(took < 10000, `took ${took} ms`);
    assert.deepEqual(carl.joined.chatHistory.map(entry), sent);
    assert.deepEqual(carl.joined.users, []);
    // a second one, through the other live node: the same history, once
    const dan = await joinThrough(nodes, alive[1], id, 'Dan');
    assert.equal(dan.node, carl.node);
    assert.deepEqual(dan.joined.chatHistory.map(entry), sent);
    // the next message goes on from there, in memory and in Redis
    carl.client.send({ type: 'chat-message', message: 'after the crash' });
    const next = entry(await dan.client.next('receive-message'));
    assert.equal(next.id, 4);
    assert.equal(next.username, 'Carl');
    for (let i = 0; i < 50 && stored.length < 4; i++) {
      stored = await storedChat(redis.port, id);
      if (stored.length < 4) await sleep(100);
    }
    assert.deepEqual(stored, [...sent, next]);
    await closeAll(ada.client, bob.client, carl.client, dan.client);
  });

  test('a meeting placed nowhere with a history in Redis: two joins at once both get it, once; what does not read as an entry is left out', { timeout: 60000 }, async () => {
    const live = nodes.filter((n) => n.isRunning());
    const id = randomMeetingId();
    // as a node that died left it: entries 1 and 2, plus what no node writes (garbage, a repeated
    // id, an entry with a field out of range)
    const history = [
      { id: 1, userId: 'uabcdefghjkmn', username: 'Ada', message: 'one', timestamp: 1764800000001 },
      { id: 2, userId: 'u23456789abcd', username: 'Bob', message: 'two ☃', timestamp: 1764800000002 },
    ];
    const stored = [JSON.stringify(history[0]), 'not json', JSON.stringify(history[1]), JSON.stringify(history[0]),
      JSON.stringify({ ...history[1], id: 3, userId: 'nobody' })];
    await redisCli(redis.port, 'RPUSH', `vm:chat:${id}`, ...stored);
    await redisCli(redis.port, 'PEXPIRE', `vm:chat:${id}`, '60000');
    const [x, y] = [await connect(live[0].wsUrl, { name: 'X' }), await connect(live[0].wsUrl, { name: 'Y' })];
    x.send({ type: 'join-meeting', meetingId: id, username: 'X' });
    y.send({ type: 'join-meeting', meetingId: id, username: 'Y' });
    const [jx, jy] = await Promise.all([x, y].map((c) => c.next((m) => ['existing-users', 'moved', 'error'].includes(m.type), 5000)));
    let [jx2, jy2] = [jx, jy];
    // placed on the least-loaded node, which may be another one: follow
    const follow = async (c, m, name) => {
      if (m.type !== 'moved') return { c, m };
      await c.close();
      const to = live.find((n) => n.url === m.url);
      const c2 = await connect(to.wsUrl, { name });
      c2.send({ type: 'join-meeting', meetingId: id, username: name });
      return { c: c2, m: await c2.next((z) => ['existing-users', 'error'].includes(z.type), 5000) };
    };
    const fx = await follow(x, jx2, 'X');
    const fy = await follow(y, jy2, 'Y');
    [jx2, jy2] = [fx.m, fy.m];
    assert.equal(jx2.type, 'existing-users', JSON.stringify(jx2));
    assert.equal(jy2.type, 'existing-users', JSON.stringify(jy2));
    assert.deepEqual(jx2.chatHistory, history);
    assert.deepEqual(jy2.chatHistory, history);
    assert.equal(jx2.users.length + jy2.users.length, 1, 'one saw the other');
    fx.c.send({ type: 'chat-message', message: 'three' });
    assert.equal((await fy.c.next('receive-message')).id, 3);
    await closeAll(fx.c, fy.c);
  });

  /** Ada alone in a new meeting on a live node, with her first chat message (`message`) in Redis. */
  async function adaWithStoredMessage(message) {
    const live = nodes.filter((n) => n.isRunning());
    const id = randomMeetingId();
    const ada = await joinThrough(live, live[0], id, 'Ada');
    ada.client.send({ type: 'chat-message', message });
    const first = entry(await ada.client.next('receive-message'));
    for (let i = 0; i < 50 && (await storedChat(redis.port, id)).length < 1; i++) await sleep(100);
    return { live, id, ada, first };
  }

  test('a node whose meeting was placed elsewhere (a drain\'s handover, a conflict) no longer writes its chat to Redis', { timeout: 30000 }, async () => {
    const { live, id, ada, first } = await adaWithStoredMessage('mine');
    const other = live.find((n) => n !== ada.node);
    await redisCli(redis.port, 'SET', `vm:meeting:${id}`, other.id, 'PX', '60000');
    ada.client.send({ type: 'chat-message', message: 'not mine any more' });
    assert.equal((await ada.client.next('receive-message')).id, 2); // chat goes on here
    await sleep(2500); // a refresh too: it does not write the list again either
    assert.deepEqual(await storedChat(redis.port, id), [first]);
    await ada.client.close();
  });

  test('chat sent while Redis is away, or lost by a Redis that came back empty, is written again by the owner', { timeout: 60000 }, async () => {
    const { live, id, ada, first } = await adaWithStoredMessage('before');
    await redis.kill();
    ada.client.send({ type: 'chat-message', message: 'while Redis is away' });
    const second = entry(await ada.client.next('receive-message')); // chat goes on
    assert.equal(second.id, 2);
    await redis.restart(); // empty: no persistence
    let stored = [];
    const t0 = Date.now();
    while (stored.length < 2) {
      assert.ok(Date.now() - t0 < 8000, `Redis has ${JSON.stringify(stored)}`);
      await sleep(200);
      stored = await storedChat(redis.port, id);
    }
    assert.deepEqual(stored, [first, second]);
    const ttl = Number(await redisCli(redis.port, 'PTTL', `vm:chat:${id}`));
    assert.ok(ttl > (GRACE_S - 5) * 1000, `TTL ${ttl}`);
    // and the list is not written again and again: a new message is appended once
    ada.client.send({ type: 'chat-message', message: 'after' });
    const third = entry(await ada.client.next('receive-message'));
    await sleep(2500);
    assert.deepEqual(await storedChat(redis.port, id), [first, second, third]);
    await cluster.waitFormed(live);
    await ada.client.close();
  });

  test('Redis keeps the newest 50 messages; an empty meeting\'s history lapses when the meeting does', { timeout: 60000 }, async () => {
    const live = nodes.filter((n) => n.isRunning());
    const id = randomMeetingId();
    const ada = await joinThrough(live, live[0], id, 'Ada');
    for (let i = 1; i <= 55; i++) {
      ada.client.send({ type: 'chat-message', message: `m${i}` });
      await sleep(60); // within the message rate
    }
    for (let i = 1; i <= 55; i++) await ada.client.next('receive-message');
    let stored = [];
    for (let i = 0; i < 50 && stored.at(-1)?.id !== 55; i++) {
      stored = await storedChat(redis.port, id);
      await sleep(100);
    }
    assert.equal(stored.length, 50);
    assert.deepEqual(stored.map((c) => c.id), Array.from({ length: 50 }, (_, k) => k + 6));
    // occupied: the full grace, refreshed
    await sleep(2500);
    const occupied = Number(await redisCli(redis.port, 'PTTL', `vm:chat:${id}`));
    assert.ok(occupied > (GRACE_S - 2) * 1000, `occupied TTL ${occupied}`);
    // empty: what is left of the grace, so it goes when the meeting does
    await ada.client.close();
    await sleep(1500);
    const first = Number(await redisCli(redis.port, 'PTTL', `vm:chat:${id}`));
    await sleep(3000);
    const second = Number(await redisCli(redis.port, 'PTTL', `vm:chat:${id}`));
    assert.ok(first <= GRACE_S * 1000 && second <= first - 2000, `TTL ${first} then ${second}`);
  });
});

describe('a single node (no REDIS_URL)', { timeout: 30000 }, () => {
  test('sends no node-info: existing-users answers the join directly', async () => {
    const srv = await startServer();
    try {
      const c = await connect(srv.wsUrl);
      await c.join(randomMeetingId(), 'Solo');
      c.send({ type: 'chat-message', message: 'hi' });
      await c.next('receive-message');
      await c.ping();
      const types = c.received.map((m) => m.type);
      assert.equal(types[0], 'existing-users', types.join());
      assert.ok(!types.includes('node-info'), types.join());
      await c.close();
    } finally {
      await srv.stop();
    }
  });
});
