// Control-plane failures reach the browser as a typed error and leave nothing half-made
// (PROTOCOL.md "Errors": `internal`). The failures cannot be caused from outside on a healthy machine
// (no memory for a meeting's media, a member, a connection; an offer that cannot be built), so the
// server is started with VM_FAULT naming the place that fails (sfu/fault.h) — the real server
// otherwise. Each test checks: the participant gets `internal` with no ref, is out of the meeting
// (the others see it leave, /healthz and the port gauges count it out), its socket stays open, and a
// join again works from nothing (its SDP answered, its offer made).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, repoRoot } from '../lib/server.mjs';
import { connectAndJoin, closeAll, randomMeetingId } from './client.mjs';

const offerText = fs.readFileSync(path.join(repoRoot, 'tests/data/sdp/chromium-offer-sendonly.sdp'), 'utf8');
const T = { timeout: 30000 };

async function metric(srv, name) {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line.slice(name.length + 1));
}

async function participants(srv) {
  return (await (await fetch(`${srv.url}/healthz`)).json()).participants;
}

/** c gets `internal` (no ref), is not in a meeting any more, and its socket stays open. */
async function expectTakenOut(c) {
  const e = await c.expectError('internal');
  assert.equal('ref' in e, false, JSON.stringify(e));
  assert.ok(!/undefined|null/.test(e.message), e.message);
  c.send({ type: 'chat-message', message: 'am I in?' });
  await c.expectError('not-in-meeting', 'chat-message');
  await c.ping();
  return e;
}

/** Publishes the captured Chromium offer and waits for the SFU's answer. */
async function publish(c) {
  c.send({ type: 'offer', pc: 'up', sdp: offerText });
  assert.equal((await c.next('answer')).pc, 'up');
}

/** A joins a new meeting and publishes; B joins it. */
async function publisherAndJoiner(srv, clients) {
  const id = randomMeetingId();
  const { client: a } = await connectAndJoin(srv.wsUrl, id, 'A');
  clients.push(a);
  await publish(a);
  const { client: b } = await connectAndJoin(srv.wsUrl, id, 'B');
  clients.push(b);
  return { id, a, b };
}

async function withServer(fault, fn) {
  const srv = await startServer({ VM_FAULT: fault, RECONNECT_GRACE_SECONDS: '0' });
  const clients = [];
  try {
    await fn(srv, clients);
    assert.match(srv.output(), /E sfu [a-z0-9]{8}: /, 'the failure is logged as an error');
  } finally {
    await closeAll(clients);
    await srv.stop();
  }
  assert.match(srv.output(), /WebRTC connections left: new 0, connecting 0, connected 0, failed 0; ports in use 0/);
}

describe('control-plane failures: a typed error, and a join again works', { timeout: 120000 }, () => {
  test('the meeting\'s media cannot be set up on its worker (room-new)', T, async () => {
    await withServer('room-new@1', async (srv, clients) => {
      const id = randomMeetingId();
      const { client: a } = await connectAndJoin(srv.wsUrl, id, 'A');
      clients.push(a);
      const e = await expectTakenOut(a);
      assert.match(e.message, /meeting's media/);
      assert.equal(await participants(srv), 0);
      assert.equal(await metric(srv, 'videomeet_rtc_ports_reserved'), 0);
      await a.join(id, 'A');
      await publish(a);
      assert.equal(await participants(srv), 1);
    });
  });

  test('a participant cannot be added to the meeting\'s media (member-new); the others are told it left', T, async () => {
    await withServer('member-new@2', async (srv, clients) => {
      const { id, a, b } = await publisherAndJoiner(srv, clients);
      assert.equal((await a.next('user-joined')).user.username, 'B');
      await expectTakenOut(b);
      const left = await a.next('user-left');
      assert.equal(left.userId, b.userId);
      assert.equal(left.reason, 'disconnected');
      await b.join(id, 'B');
      assert.equal((await b.next('offer')).pc, 'down'); // A's tracks, offered from nothing
    });
  });

  test('the receiving connection cannot be made (down-peer), or its first offer cannot be built (down-offer)', T, async () => {
    for (const fault of ['down-peer@1', 'down-offer@1']) {
      await withServer(fault, async (srv, clients) => {
        const { id, a, b } = await publisherAndJoiner(srv, clients);
        await expectTakenOut(b);
        await b.expectNone('offer');
        assert.equal((await a.next('user-left')).userId, b.userId);
        assert.equal(await participants(srv), 1);
        await b.join(id, 'B');
        assert.equal((await b.next('offer')).pc, 'down');
        assert.ok((await b.next('ice-candidate')).candidate !== undefined); // its transport gathers
      });
    }
  });

  test('the publishing connection cannot be made (up-peer): no answer, a typed error', T, async () => {
    await withServer('up-peer@1', async (srv, clients) => {
      const id = randomMeetingId();
      const { client: a } = await connectAndJoin(srv.wsUrl, id, 'A');
      clients.push(a);
      a.send({ type: 'offer', pc: 'up', sdp: offerText });
      await expectTakenOut(a);
      await a.expectNone('answer');
      await a.join(id, 'A');
      await publish(a);
      await a.next('ice-candidate'); // gathered: its port is held
      assert.equal(await metric(srv, 'videomeet_rtc_ports_in_use'), 1);
    });
  });

  test('a request cannot be passed to the media plane (sfu-command)', T, async () => {
    await withServer('sfu-command@2', async (srv, clients) => {
      const id = randomMeetingId();
      const { client: a } = await connectAndJoin(srv.wsUrl, id, 'A'); // command 1: the join
      clients.push(a);
      a.send({ type: 'ice-candidate', pc: 'up', candidate: null }); // command 2: lost
      await expectTakenOut(a);
      await a.join(id, 'A');
      await publish(a);
    });
  });
});
