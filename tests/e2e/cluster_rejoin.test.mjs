// A node dies under a meeting (README and PROTOCOL.md, "Several nodes"), with real Chromium: Redis and
// three nodes; Ada opens the meeting's link on node A and starts it there, Bob opened the same link on
// node B before (so B served his page) and is moved to the owner. They chat and see each other. Then
// the node that owns the meeting is killed (SIGKILL). Each page, having lost its socket, tries its node,
// its page's node, the other nodes it was told of (node-info), rejoins the same meeting with the same
// name on a live node, which takes the meeting over with its chat history from Redis: within 15 s of the
// kill both are back in the meeting, decode each other's video again, and their chat still shows the
// earlier messages, each once. The measured rejoin times are printed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from '../lib/cluster.mjs';
import { redisCli } from '../lib/redis.mjs';
import { launchPeople, byTestId, received, joinMeeting } from './browser.mjs';
import { eventually, sleep } from '../lib/wait.mjs';
import { randomMeetingId } from '../protocol/client.mjs';

let cluster;
let nodes;
let redis;

before(async () => {
  cluster = await startCluster({
    nodes: 3, rtcPorts: 48000,
    // both browsers come from 127.0.0.1: their joins after the crash count as meeting starts of one address
    env: { ADDRESS_MEETINGS_PER_MINUTE: '100' },
    // each node names its own (unreachable: host candidates do the work) STUN server, so that the
    // page shows which node's ICE servers it uses
    nodeEnv: (i) => ({ STUN_URLS: `stun:127.0.0.1:${3470 + i}` }),
  });
  ({ nodes, redis } = cluster);
});

after(() => cluster?.stop());

const wsOf = (url) => `${url.replace('http:', 'ws:')}/ws`;
const stunOf = (node) => `stun:127.0.0.1:${3470 + nodes.indexOf(node)}`;
/** The ICE server URLs of the page's media connections. */
const iceUrls = (page) => page.evaluate(() => window.videomeet.rtc.up.getConfiguration().iceServers.flatMap((s) => [].concat(s.urls)));

test('the node of a meeting dies: its people are back in it on a live node within 15 s, with video and chat', { timeout: 150000 }, async (t) => {
  const [a, b] = nodes;
  const id = randomMeetingId();
  const [ada, bob] = await launchPeople(t, 'Ada', 'Bob');
  const people = [{ b: ada, name: 'Ada', other: 'Bob' }, { b: bob, name: 'Bob', other: 'Ada' }];

  // Bob's page comes from B (nobody owns the meeting yet); Ada starts the meeting from A's page.
  await bob.page.goto(`${b.url}/m/${id}`);
  await byTestId(bob.page, 'name-input').fill('Bob');
  await joinMeeting(ada.page, a.url, id, 'Ada');
  await byTestId(bob.page, 'join-now').click();
  await byTestId(bob.page, 'meeting-page').waitFor({ state: 'visible' });
  const ownerId = await redisCli(redis.port, 'GET', `vm:meeting:${id}`);
  const owner = nodes.find((n) => n.id === ownerId);
  assert.ok(owner, `owner ${ownerId}`);
  for (const p of people) assert.equal(await p.b.page.evaluate(() => window.videomeet.signaling.url), wsOf(owner.url));
  // each page got the live nodes and its node's ICE servers (node-info)
  for (const p of people) {
    const urls = await p.b.page.evaluate(() => window.videomeet.signaling.nodeUrls);
    assert.deepEqual([...urls].sort(), nodes.map((n) => wsOf(n.url)).sort());
    assert.equal(urls[0], wsOf(owner.url));
    // the media connections use the owner's ICE servers, whichever node served the page
    assert.deepEqual(await iceUrls(p.b.page), [stunOf(owner)], p.name);
  }
  console.log(`# meeting on ${owner.id}; Ada's page from ${a.id}, Bob's from ${b.id}`);

  // chat, and media both ways
  const said = [['Ada', 'before the crash: hello from Ada'], ['Bob', 'before the crash: Bob here ☃']];
  for (const [who, text] of said) {
    const page = who === 'Ada' ? ada.page : bob.page;
    await byTestId(page, 'chat-toggle').click();
    await byTestId(page, 'chat-input').fill(text);
    await byTestId(page, 'chat-input').press('Enter');
    for (const p of people) {
      await eventually(async () => assert.ok((await byTestId(p.b.page, 'chat-text').allTextContents()).includes(text)), 10000, 100);
    }
  }
  await eventually(async () => {
    for (const p of people) {
      const r = await received(p.b.page);
      assert.ok(r[p.other]?.video?.frames > 10, `${p.name} receives ${p.other}: ${JSON.stringify(r)}`);
    }
  }, 30000, 500);
  // the history is in Redis before the node dies (written through the cluster thread)
  await eventually(async () => assert.equal(await redisCli(redis.port, 'LLEN', `vm:chat:${id}`), '2'), 5000, 100);

  // the owner dies
  const killedAt = Date.now();
  owner.kill();
  const alive = nodes.filter((n) => n !== owner).map((n) => wsOf(n.url));
  const back = {};
  const last = {};
  await eventually(async () => {
    for (const p of people) {
      if (back[p.name]) continue;
      const s = await p.b.page.evaluate(() => ({
        joined: window.videomeet.signaling.joined, url: window.videomeet.signaling.url,
        page: window.videomeet.page,
      }));
      if (!s.joined || !alive.includes(s.url) || s.page !== 'meeting') continue;
      const frames = (await received(p.b.page))[p.other]?.video?.frames || 0;
      if (frames > 0 && last[p.name] !== undefined && frames > last[p.name]) back[p.name] = { ms: Date.now() - killedAt, url: s.url };
      last[p.name] = frames;
    }
    assert.ok(back.Ada && back.Bob, `not back yet: ${JSON.stringify({ back, last })}`);
  }, 15000, 250);
  for (const p of people) {
    console.log(`# ${p.name} back in the meeting with ${p.other}'s video on ${back[p.name].url}, ${back[p.name].ms} ms after the kill`);
    assert.ok(back[p.name].ms <= 15000);
  }
  assert.equal(back.Ada.url, back.Bob.url, 'both on the node that took the meeting over');
  const newOwner = nodes.find((n) => wsOf(n.url) === back.Ada.url);
  assert.equal(await redisCli(redis.port, 'GET', `vm:meeting:${id}`), newOwner.id);
  for (const p of people) assert.deepEqual(await iceUrls(p.b.page), [stunOf(newOwner)], p.name);
  // the chat shows the earlier messages, each once; the other is there once (not also as who they were before)
  for (const p of people) {
    const texts = await byTestId(p.b.page, 'chat-text').allTextContents();
    for (const [, text] of said) assert.equal(texts.filter((x) => x === text).length, 1, `${p.name}: ${JSON.stringify(texts)}`);
    assert.deepEqual(await p.b.page.evaluate(() => [...window.videomeet.participants.values()].map((x) => x.username)), [p.other]);
  }
  // and it goes on: a message after the crash reaches the other
  await byTestId(ada.page, 'chat-input').fill('after the crash');
  await byTestId(ada.page, 'chat-input').press('Enter');
  await eventually(async () => assert.ok((await byTestId(bob.page, 'chat-text').allTextContents()).includes('after the crash')), 10000, 100);
  // nothing but the refused connections to the dead node went wrong in the pages (no CSP violation)
  await sleep(200);
  const errors = [...ada.errors, ...bob.errors].filter((e) => !/favicon|WebSocket connection to .* failed/.test(e));
  assert.deepEqual(errors, []);
});
