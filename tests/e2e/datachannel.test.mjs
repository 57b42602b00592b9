// Browser test of the data channel (PROTOCOL.md "Data channel") and the participants panel, with
// three Chromium participants on a real server: each opens its data channel on its "up" connection
// (SCTP over the DTLS it has, usrsctp on the SFU's side); a reaction and a raised hand sent by one
// reach the two others and nobody else's meeting; lowering the hand clears it; the panel lists
// everyone with mic and camera state and raised hands, and its search filters it.
//
//   cd tests && VM_SERVER_BIN=../build-test/videomeet node --test e2e/datachannel.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { launchBrowser, createMeeting, byTestId, joinMeeting } from './browser.mjs';
import { eventually } from '../lib/wait.mjs';

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  if (server) await server.stop();
});

const tileOf = (page, username) => page.locator(`[data-testid="tile"][data-username="${username}"]`);

async function join(t, name, meetingId) {
  const b = await launchBrowser({ name });
  t.after(() => b.close());
  await joinMeeting(b.page, server.url, meetingId, name);
  // What the page's channel receives, with the time, for the failure messages below.
  await b.page.evaluate(() => {
    window.__dcLog = [];
    window.videomeet?.rtc?.dataChannel?.addEventListener('message', (e) => window.__dcLog.push(`${new Date().toISOString()} ${e.data}`));
  });
  return b;
}

const dcLog = (page) => page.evaluate(() => window.__dcLog).catch((err) => [`(not read: ${err.message})`]);

/** The page's data channel state ("open" once SCTP and DCEP are through). */
const channelState = (page) => page.evaluate(() => window.videomeet?.rtc?.dataChannel?.readyState ?? 'none');

/** The panel's rows: {name, hand, audio, video}. */
const panelRows = (page) => page.locator('[data-testid="people-item"]').evaluateAll((els) => els.map((e) => ({
  name: e.querySelector('[data-testid="people-name"]').textContent,
  hand: e.dataset.hand === 'true', audio: e.dataset.audio === 'true', video: e.dataset.video === 'true',
})));

/** The hand button is in the reactions tray: open it, click. */
async function raiseOrLower(page) {
  await byTestId(page, 'reactions-toggle').click();
  await byTestId(page, 'hand-button').click();
}

async function metric(name) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

test('reactions and raised hands over the data channel reach the others; the panel lists and searches everyone', async (t) => {
  const meetingId = await createMeeting(server.url);
  const other = await createMeeting(server.url);
  const ann = await join(t, 'Ann', meetingId);
  const bob = await join(t, 'Bob', meetingId);
  const cleo = await join(t, 'Cléo', meetingId);
  const outsider = await join(t, 'Olaf', other); // another meeting: must see nothing of it
  const all = [ann, bob, cleo];
  await eventually(async () => {
    for (const b of [...all, outsider]) assert.equal(await channelState(b.page), 'open', `${b.name}'s channel`);
    for (const b of all) assert.equal(await byTestId(b.page, 'participant-count').textContent(), '3');
  }, 20000);
  // Each newcomer said hello on its channel; wait until the SFU relayed those (so every channel is
  // known to the SFU before the messages under test).
  await eventually(async () => assert.ok(await metric('videomeet_dc_messages_out_total') >= 3), 10000);

  // A reaction from Ann floats on Ann's tile at Bob's and Cléo's, and on her own.
  const reactionsSeen = all.map((b) => b.page.evaluate(() => new Promise((resolve) => {
    const grid = document.getElementById('grid');
    const obs = new MutationObserver(() => {
      const el = grid.querySelector('[data-testid="tile-reaction"]');
      if (el) {
        obs.disconnect();
        resolve({ on: el.closest('[data-testid="tile"]').dataset.username, emoji: el.textContent });
      }
    });
    obs.observe(grid, { subtree: true, childList: true });
  })));
  const outsiderSaw = outsider.page.evaluate(() => new Promise((resolve) => {
    const obs = new MutationObserver(() => {
      if (document.querySelector('[data-testid="tile-reaction"]')) resolve(true);
    });
    obs.observe(document.getElementById('grid'), { subtree: true, childList: true });
    setTimeout(() => resolve(false), 3000);
  }));
  await byTestId(ann.page, 'reactions-toggle').click();
  await ann.page.locator('[data-testid="reaction-button"][data-emoji="🎉"]').click();
  assert.equal(await byTestId(ann.page, 'reaction-tray').isHidden(), true, 'the tray closes after a reaction');
  const seen = await Promise.race([
    Promise.all(reactionsSeen),
    new Promise((_, reject) => setTimeout(() => reject(new Error('reaction not seen within 5 s')), 5000)),
  ]);
  assert.deepEqual(seen, [{ on: 'Ann', emoji: '🎉' }, { on: 'Ann', emoji: '🎉' }, { on: 'Ann', emoji: '🎉' }]);
  assert.equal(await outsiderSaw, false, 'the other meeting saw the reaction');

  // Bob raises his hand: his tile and the panel say so at Ann's and Cléo's.
  await raiseOrLower(bob.page);
  assert.equal(await byTestId(bob.page, 'hand-button').getAttribute('aria-pressed'), 'true');
  assert.equal(await byTestId(bob.page, 'reactions-toggle').getAttribute('data-hand'), 'true');
  for (const b of all) {
    await eventually(async () => assert.equal(await tileOf(b.page, 'Bob').locator('[data-testid="tile-hand"]').count(), 1), 5000);
  }
  assert.equal(await outsider.page.locator('[data-testid="tile-hand"]').count(), 0);

  // Cléo mutes her microphone; Ann opens the panel: everyone, hands first, with their states.
  await byTestId(cleo.page, 'mute-button').click();
  await byTestId(ann.page, 'people-toggle').click();
  await byTestId(ann.page, 'people-panel').waitFor({ state: 'visible' });
  await eventually(async () => assert.deepEqual(await panelRows(ann.page), [
    { name: 'Bob', hand: true, audio: true, video: true },
    { name: 'Ann (You)', hand: false, audio: true, video: true },
    { name: 'Cléo', hand: false, audio: false, video: true },
  ]), 5000);
  // The search filters (case and accents folded), and says when nobody matches.
  await byTestId(ann.page, 'people-search').fill('CLEO');
  assert.deepEqual((await panelRows(ann.page)).map((r) => r.name), ['Cléo']);
  await byTestId(ann.page, 'people-search').fill('zz');
  assert.deepEqual(await panelRows(ann.page), []);
  await byTestId(ann.page, 'people-search').fill('');
  assert.equal((await panelRows(ann.page)).length, 3);

  // On a phone's width the controls (with the reactions button) and the panel fit: no horizontal scroll.
  await ann.page.setViewportSize({ width: 375, height: 800 });
  await eventually(async () => {
    assert.ok(await ann.page.evaluate(() => document.documentElement.scrollWidth) <= 375, 'no horizontal scroll at 375px');
  });
  await byTestId(ann.page, 'people-close').click();
  await byTestId(ann.page, 'reactions-toggle').click();
  const tray = await byTestId(ann.page, 'reaction-tray').evaluate((e) => e.getBoundingClientRect().toJSON());
  assert.ok(tray.left >= 0 && tray.right <= 375, `the tray is on screen: ${JSON.stringify(tray)}`);
  await byTestId(ann.page, 'reactions-toggle').click();
  await ann.page.setViewportSize({ width: 1280, height: 800 });

  // A latecomer learns the raised hand (the hand's owner answers its hello).
  const dan = await join(t, 'Dan', meetingId);
  await eventually(async () => assert.equal(await tileOf(dan.page, 'Bob').locator('[data-testid="tile-hand"]').count(), 1), 20000);

  // Bob lowers it: cleared everywhere, the panel too. Within 15 s: on this loaded machine (five
  // Chromiums decoding video on two cores) a message the SFU relays reaches a page's script 0-2.5 s
  // later (measured with VM_LOG_LEVEL=debug's relay lines against the pages' arrival times), and a
  // datagram dropped on the way would cost an SCTP retransmission timeout (1 s at least, doubling);
  // 5 s was missed once in a dozen CI runs (and once in 15 runs here: at the latecomer's page). A
  // clean-clone run then printed 7.9-11.0 s, counted from before Bob's two clicks (1.7 s of clicks
  // alone here) and reading the pages one after the other: the figure is now from after the clicks.
  const clickAt = Date.now();
  await raiseOrLower(bob.page); // two clicks; Playwright waits for each to be actionable
  const loweredAt = Date.now();
  const cleared = {};
  for (const b of [...all, dan]) {
    try {
      await eventually(async () => assert.equal(await b.page.locator('[data-testid="tile-hand"]').count(), 0), 15000);
    } catch (err) { // the page's channel log is read once, for the message, not on every poll
      throw new Error(`Bob's hand still up at ${b.name}'s ${Date.now() - loweredAt} ms after he lowered it (at ` +
        `${new Date(loweredAt).toISOString()}); its channel received: ${JSON.stringify(await dcLog(b.page))}`, { cause: err });
    }
    cleared[b.name] = Date.now() - loweredAt;
  }
  console.log(`# Bob's clicks to lower his hand took ${loweredAt - clickAt} ms; then his hand was cleared at (ms after ` +
    `them, read in turn): ${JSON.stringify(cleared)}`);
  await eventually(async () => assert.ok((await panelRows(ann.page)).every((r) => !r.hand)), 5000);
  assert.equal(await metric('videomeet_dc_dropped_total'), 0);
  for (const b of [...all, dan, outsider]) assert.deepEqual(b.errors, []);
});
