// Media messages at the protocol level (PROTOCOL.md "Media"): the SFU answers a real Chromium offer,
// offers the receiving connection to others, trickles candidates, and refuses broken SDP and
// misplaced messages with typed errors while another meeting goes on.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, repoRoot } from '../lib/server.mjs';
import { connect, connectAndJoin, closeAll, randomMeetingId } from './client.mjs';

const offerText = fs.readFileSync(path.join(repoRoot, 'tests/data/sdp/chromium-offer-sendonly.sdp'), 'utf8');
let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  if (server) await server.stop();
});

/** Two people in another meeting, to check that nothing here disturbs them. */
async function bystanders() {
  const id = randomMeetingId();
  const { client: x } = await connectAndJoin(server.wsUrl, id, 'X');
  const { client: y } = await connectAndJoin(server.wsUrl, id, 'Y');
  await x.next('user-joined');
  return {
    async check() {
      x.send({ type: 'chat-message', message: 'still here' });
      const m = await y.next('receive-message');
      assert.equal(m.message, 'still here');
    },
    close: () => closeAll(x, y),
  };
}

test('an upstream offer is answered with SDP and trickled candidates; the others get a downstream offer', async () => {
  const others = await bystanders();
  const id = randomMeetingId();
  const { client: a } = await connectAndJoin(server.wsUrl, id, 'A');
  const { client: b } = await connectAndJoin(server.wsUrl, id, 'B');
  a.send({ type: 'offer', pc: 'up', sdp: offerText });
  const answer = await a.next('answer');
  assert.equal(answer.pc, 'up');
  assert.match(answer.sdp, /^v=0\r\n/);
  assert.match(answer.sdp, /a=setup:passive/);
  assert.match(answer.sdp, /a=recvonly/);
  assert.match(answer.sdp, /a=fingerprint:sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
  assert.match(answer.sdp, /a=rtpmap:\d+ opus\/48000\/2/);
  assert.match(answer.sdp, /a=fmtp:\d+ .*useinbandfec=1/);
  assert.match(answer.sdp, /a=rtpmap:\d+ VP8\/90000/);
  assert.match(answer.sdp, /a=group:BUNDLE /);
  // Host candidates on the configured address, then the end marker.
  const cand = await a.next('ice-candidate');
  assert.equal(cand.pc, 'up');
  assert.match(cand.candidate, /^candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host$/);
  assert.equal(typeof cand.sdpMid, 'string');
  const end = await a.next((m) => m.type === 'ice-candidate' && m.candidate === null);
  assert.equal(end.pc, 'up');
  // B receives A's two tracks: an offer for its receiving connection, with A's userId as msid.
  const down = await b.next('offer', 5000);
  assert.equal(down.pc, 'down');
  assert.match(down.sdp, /a=sendonly/);
  assert.match(down.sdp, /a=setup:actpass/);
  assert.equal((down.sdp.match(/^m=/gm) || []).length, 2);
  assert.match(down.sdp, new RegExp(`a=msid:${a.userId} `));
  await b.next((m) => m.type === 'ice-candidate' && m.pc === 'down');
  await others.check();
  await closeAll(a, b);
  await others.close();
});

test('broken SDP and misplaced media messages get typed errors; nothing else is disturbed', async () => {
  const others = await bystanders();
  const lone = await connect(server.wsUrl);
  lone.send({ type: 'offer', pc: 'up', sdp: offerText });
  assert.equal((await lone.next('error')).code, 'not-in-meeting');

  const { client: a } = await connectAndJoin(server.wsUrl, randomMeetingId(), 'A');
  const cases = [
    [{ type: 'offer', pc: 'up', sdp: 'this is not SDP' }, 'bad-sdp'],
    [{ type: 'offer', pc: 'up', sdp: 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n' }, 'bad-sdp'],
    [{ type: 'offer', pc: 'up', sdp: offerText.replace(/a=fingerprint:[^\r\n]*\r\n/g, '') }, 'bad-sdp'],
    [{ type: 'offer', pc: 'up', sdp: offerText.slice(0, 200) }, 'bad-sdp'],
    [{ type: 'answer', pc: 'down', sdp: offerText }, 'bad-sdp'], // no offer is pending
    [{ type: 'offer', pc: 'down', sdp: offerText }, 'invalid-field'],
    [{ type: 'answer', pc: 'up', sdp: offerText }, 'invalid-field'],
    [{ type: 'offer', pc: 'sideways', sdp: offerText }, 'invalid-field'],
    [{ type: 'offer', pc: 'up' }, 'invalid-field'],
    [{ type: 'offer', pc: 'up', sdp: '' }, 'too-long'],
    [{ type: 'ice-candidate', pc: 'up', candidate: 'nonsense' }, 'invalid-field'],
    [{ type: 'ice-candidate', pc: 'up', candidate: 42 }, 'invalid-field'],
    [{ type: 'ice-candidate', pc: 'up', candidate: `candidate:${'1'.repeat(600)}` }, 'too-long'],
  ];
  for (const [msg, code] of cases) {
    a.send(msg);
    const err = await a.next('error');
    assert.equal(err.code, code, `${JSON.stringify(msg).slice(0, 80)} → ${JSON.stringify(err)}`);
  }
  // Candidates before any description, and an end of candidates, are accepted silently.
  a.send({ type: 'ice-candidate', pc: 'up', candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host' });
  a.send({ type: 'ice-candidate', pc: 'down', candidate: null });
  // After all that the socket still works and a good offer is answered.
  a.send({ type: 'offer', pc: 'up', sdp: offerText });
  assert.equal((await a.next('answer')).pc, 'up');
  await a.expectNone('error', 300);
  await others.check();
  assert.ok(server.isRunning());
  await closeAll(lone, a);
  await others.close();
});
