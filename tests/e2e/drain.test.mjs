// Draining a node with real Chromium (README, "Draining a node"): two people in a meeting on node A;
// A is drained (POST /admin/drain). Both pages are told `moved` mid-meeting and rejoin the meeting on
// node B by themselves: each decodes the other's video again there (frames increasing), the chat
// written before is still on screen, Bob's muted microphone is still muted for Ada, and A ends with
// no meetings. Prints how long the move took (drain to remote video decoded again on both pages).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, health } from '../lib/cluster.mjs';
import { launchPeople, byTestId, received, joinMeeting } from './browser.mjs';
import { eventually, sleep } from '../lib/wait.mjs';
import { randomMeetingId } from '../protocol/client.mjs';

const TOKEN = 'e2e-drain-token-71c2';
let cluster;

before(async () => {
  cluster = await startCluster({ nodes: 2, rtcPorts: 46600, env: { ADMIN_TOKEN: TOKEN } });
});

after(() => cluster?.stop());

test('a drained node\'s meeting moves to another node: both people there with video, chat and mute kept', { timeout: 150000 }, async (t) => {
  const [a, b] = cluster.nodes;
  const id = randomMeetingId();
  const [ada, bob] = await launchPeople(t, 'Ada', 'Bob');

  // Both open the link on A and join: the meeting is placed on A (idle nodes: the one asked).
  await joinMeeting(ada.page, a.url, id, 'Ada');
  await joinMeeting(bob.page, a.url, id, 'Bob');
  assert.equal((await health(a)).participants, 2);
  await eventually(async () => {
    const [ra, rb] = [await received(ada.page), await received(bob.page)];
    assert.ok(rb.Ada?.video?.frames > 10 && ra.Bob?.video?.frames > 10, `before: ${JSON.stringify({ ra, rb })}`);
  }, 30000, 500);
  // a chat line and Bob's microphone muted before the move
  await byTestId(ada.page, 'chat-toggle').click();
  await byTestId(ada.page, 'chat-input').fill('before the move');
  await byTestId(ada.page, 'chat-send').click();
  await byTestId(bob.page, 'mute-button').click();
  await eventually(async () => {
    assert.equal(await ada.page.evaluate(() => [...window.videomeet.participants.values()].find((p) => p.username === 'Bob')?.audio), false);
  }, 5000, 100);
  const userIds = await Promise.all([ada, bob].map((x) => x.page.evaluate(() => window.videomeet.userId)));

  // Drain A.
  const t0 = Date.now();
  const res = await fetch(`${a.url}/admin/drain`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  const bWs = `${b.url.replace('http:', 'ws:')}/ws`;
  let tSignaled = 0;
  await eventually(async () => {
    for (const x of [ada, bob]) assert.equal(await x.page.evaluate(() => window.videomeet.signaling.url), bWs);
    if (!tSignaled) tSignaled = Date.now() - t0;
    const [ra, rb] = [await received(ada.page), await received(bob.page)];
    assert.ok(rb.Ada?.video?.frames > 0 && ra.Bob?.video?.frames > 0, `after: ${JSON.stringify({ ra, rb })}`);
  }, 30000, 100);
  const tVideo = Date.now() - t0;
  // decoded frames keep increasing on the new node. Each reading waits until both pages list the
  // other: right after the move one reading had `Bob` and the next, at once, did not (CI rehearsal
  // of 4 December; received() keys a stream by the participant's name when the page has it, else by
  // user id: why the name went missing was not looked into).
  const frames = async () => {
    const [ra, rb] = [await received(ada.page), await received(bob.page)];
    assert.ok(ra.Bob?.video && rb.Ada?.video, `named: ${JSON.stringify({ ra, rb })}`);
    return [ra.Bob.video.frames, rb.Ada.video.frames];
  };
  const first = await eventually(frames, 5000, 100);
  await sleep(2000);
  const second = await eventually(frames, 5000, 100);
  assert.ok(second[0] > first[0] + 5 && second[1] > first[1] + 5, `frames ${first} -> ${second}`);
  console.log(`# drain -> both pages on node1's socket: ${tSignaled} ms; remote video decoded again on both: ${tVideo} ms; frames ${first} -> ${second} in 2 s`);

  // new participants there (new userIds), the meeting lives on B, A is empty and says so
  const newIds = await Promise.all([ada, bob].map((x) => x.page.evaluate(() => window.videomeet.userId)));
  assert.notDeepEqual(newIds, userIds);
  const [ha, hb] = [await health(a), await health(b)];
  assert.equal(hb.participants, 2);
  assert.equal(ha.draining, true);
  await eventually(async () => assert.equal((await health(a)).drained, true), 5000, 200);
  // chat still on screen; Bob still muted for Ada (his state went with the rejoin)
  assert.equal(await byTestId(ada.page, 'chat-text').filter({ hasText: 'before the move' }).count(), 1);
  assert.equal(await ada.page.evaluate(() => [...window.videomeet.participants.values()].find((p) => p.username === 'Bob')?.audio), false);
  assert.equal(await byTestId(bob.page, 'meeting-page').isVisible(), true);
  await sleep(200);
  assert.deepEqual([...ada.errors, ...bob.errors].filter((e) => !/favicon/.test(e)), []);
});
