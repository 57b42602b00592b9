// Two nodes sharing meetings through Redis, with real Chromium (README, "Several nodes"): one person
// opens a meeting's link on node A and starts the meeting there; the other had opened the same link
// on node B before (so B served the page) and joins afterwards: B answers the join with `moved`, the
// page joins on A by itself (its address bar still shows B), and both receive each other's video and
// audio. A third page opening the link on B now is redirected (302) to A.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, health } from '../lib/cluster.mjs';
import { launchPeople, byTestId, received, joinMeeting } from './browser.mjs';
import { eventually, sleep } from '../lib/wait.mjs';
import { randomMeetingId } from '../protocol/client.mjs';

let cluster;

before(async () => {
  cluster = await startCluster({ nodes: 2, rtcPorts: 46000 });
});

after(() => cluster?.stop());

test('people who open the link on different nodes end up in one meeting with media', { timeout: 120000 }, async (t) => {
  const [a, b] = cluster.nodes;
  const id = randomMeetingId();
  const [ada, bob] = await launchPeople(t, 'Ada', 'Bob');

  // Bob opens the link on B while nobody owns the meeting: B serves the page.
  await bob.page.goto(`${b.url}/m/${id}`);
  await byTestId(bob.page, 'name-input').fill('Bob');
  // Ada starts the meeting on A.
  await joinMeeting(ada.page, a.url, id, 'Ada');
  // Bob joins from B's page: moved to A, without him noticing.
  await byTestId(bob.page, 'join-now').click();
  await byTestId(bob.page, 'meeting-page').waitFor({ state: 'visible' });
  assert.ok(bob.page.url().startsWith(b.url), `Bob's page moved: ${bob.page.url()}`);
  assert.equal(await bob.page.evaluate(() => window.videomeet.signaling.url), `${a.url.replace('http:', 'ws:')}/ws`);
  const ha = await health(a);
  const hb = await health(b);
  assert.equal(ha.participants, 2);
  assert.equal(hb.participants, 0);

  // media both ways
  await eventually(async () => {
    const rb = await received(bob.page);
    const ra = await received(ada.page);
    assert.ok(rb.Ada?.video?.frames > 10, `Bob receives Ada: ${JSON.stringify(rb)}`);
    assert.ok(ra.Bob?.video?.frames > 10, `Ada receives Bob: ${JSON.stringify(ra)}`);
    assert.ok(rb.Ada?.audio?.packets > 10 && ra.Bob?.audio?.packets > 10, 'audio both ways');
  }, 30000, 500);

  // the link opened on B now goes to A
  const res = await fetch(`${b.url}/m/${id}`, { redirect: 'manual' });
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), `${a.url}/m/${id}`);
  await sleep(200);
  assert.deepEqual([...ada.errors, ...bob.errors].filter((e) => !/favicon/.test(e)), []);
});
