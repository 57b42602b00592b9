// Active speaker and layouts with real Chromium (PROTOCOL.md "Active speaker", web/js/layout.js):
//
// - three Chromium participants, one speaking (its fake microphone plays a synthetic voice,
//   tests/lib/speech-wav.mjs), the two others muted through the UI: the speaker's tile is
//   highlighted in the others' pages (the SFU read its RFC 6464 levels and sent active-speakers),
//   nobody else's; switching to the speaker view makes that tile the large one;
// - a Chromium participant on page 2 of the grid (17 people: 16 are videomeet-bench participants
//   in the same meeting) receives no video packets at all for the tiles of page 1 while audio from
//   everybody continues, and video of the page-2 tile; back on page 1 their video comes back;
// - a 25-person meeting (24 bench participants speaking in turn at a synthetic level, and one
//   Chromium): the grid pages (2 pages), the Chromium receives video only for the tiles it shows,
//   and its active speaker follows the bench participant whose turn it is.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, serverBin } from '../lib/server.mjs';
import { launchBrowser, byTestId, smallCamera, createMeeting, received, joinMeeting } from './browser.mjs';
import { eventually, sleep } from '../lib/wait.mjs';
import { writeSpeechWav } from '../lib/speech-wav.mjs';

const benchBin = path.join(path.dirname(serverBin), 'videomeet-bench');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vm-speaker-'));
const voice = path.join(tmp, 'voice.wav');
let server;

before(async () => {
  writeSpeechWav(voice);
  server = await startServer({ RTC_MIN_PORT: '47000', RTC_MAX_PORT: '47199' });
});

after(async () => {
  if (server) await server.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A Chromium participant in the meeting; `speaks`: its microphone plays the synthetic voice. */
async function join(t, meetingId, name, { speaks = false } = {}) {
  const extraArgs = ['--autoplay-policy=no-user-gesture-required'];
  if (speaks) extraArgs.push(`--use-file-for-fake-audio-capture=${voice}`);
  const b = await launchBrowser({ name, initScript: smallCamera, extraArgs });
  t.after(() => b.close());
  await joinMeeting(b.page, server.url, meetingId, name);
  return b;
}

const tile = (page, name) => page.locator(`[data-testid="tile"][data-username="${name}"]`);

/** The tiles of the page: username → {speaking, main, shown, width, height}. */
async function tiles(page) {
  return page.evaluate(() => {
    const out = {};
    for (const el of document.querySelectorAll('[data-testid="tile"]')) {
      const r = el.getBoundingClientRect();
      out[el.dataset.username] = {
        speaking: el.dataset.speaking === 'true', main: el.dataset.main === 'true', shown: !el.hidden,
        width: r.width, height: r.height,
      };
    }
    return out;
  });
}

/** Runs videomeet-bench in the meeting; resolves at its end. */
function bench(meetingId, args) {
  return new Promise((resolve) => {
    execFile(benchBin, ['--url', server.url, '--meeting-id', meetingId, '--quiet', ...args], {
      timeout: 240000,
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=66' },
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
}

/** Video and audio packets received so far per remote username. */
async function packets(page) {
  const got = await received(page);
  const out = {};
  for (const [who, kinds] of Object.entries(got)) out[who] = { video: kinds.video?.packets ?? 0, audio: kinds.audio?.packets ?? 0 };
  return out;
}

test('the one who speaks becomes the active speaker in the others\' pages; the speaker view shows it large', async (t) => {
  const id = await createMeeting(server.url);
  const ann = await join(t, id, 'Ann', { speaks: true });
  const bob = await join(t, id, 'Bob');
  const cid = await join(t, id, 'Cid');
  for (const b of [bob, cid]) {
    await byTestId(b.page, 'mute-button').click();
    assert.equal(await byTestId(b.page, 'mute-button').getAttribute('data-on'), 'false');
  }
  for (const b of [bob, cid]) {
    await eventually(async () => {
      const all = await tiles(b.page);
      assert.equal(Object.keys(all).length, 3, JSON.stringify(all));
      assert.equal(all.Ann.speaking, true, `${b.name}: Ann highlighted (${JSON.stringify(all)})`);
      assert.equal(all.Bob.speaking || all.Cid.speaking, false);
    }, 45000, 250);
  }
  // Ann's own page highlights her own tile (she is the dominant speaker), nobody else's
  await eventually(async () => {
    const all = await tiles(ann.page);
    assert.equal(all.Ann.speaking, true);
    assert.equal(all.Bob.speaking || all.Cid.speaking, false);
  }, 10000, 250);

  // Bob switches to the speaker view: Ann's tile is the large one, the others a strip under it
  await byTestId(bob.page, 'layout-toggle').click();
  assert.equal(await byTestId(bob.page, 'layout-toggle').getAttribute('data-mode'), 'speaker');
  await eventually(async () => {
    const all = await tiles(bob.page);
    assert.equal(all.Ann.main, true, JSON.stringify(all));
    assert.ok(all.Ann.shown && all.Bob.shown && all.Cid.shown);
    for (const other of ['Bob', 'Cid']) {
      assert.ok(all.Ann.width * all.Ann.height > 4 * all[other].width * all[other].height,
        `Ann's tile much larger than ${other}'s: ${JSON.stringify(all)}`);
    }
  }, 5000, 100);
  // and back to the grid: tiles of equal size again, Ann still highlighted
  await byTestId(bob.page, 'layout-toggle').click();
  await eventually(async () => {
    const all = await tiles(bob.page);
    assert.equal(all.Ann.main, false);
    assert.equal(all.Ann.speaking, true);
    assert.ok(Math.abs(all.Ann.width - all.Cid.width) < 2, JSON.stringify(all));
  }, 5000, 100);
  for (const b of [ann, bob, cid]) assert.deepEqual(b.errors, []);
});

test('on page 2 of the grid no video comes for the tiles of page 1; audio from everybody goes on', async (t) => {
  const id = await createMeeting(server.url);
  const viewer = await join(t, id, 'Viv');
  // they publish only (the viewer is the receiver): a light load for a busy machine
  const run = bench(id, ['--meeting', '16', '--publish-only', '--bitrate', '120', '--fps', '10', '--duration', '45',
    '--settle', '0', '--join-timeout', '60']);
  const names = Array.from({ length: 16 }, (_, i) => `bench r0 p${i}`);
  const { page } = viewer;
  await eventually(async () => {
    assert.equal(await page.locator('[data-testid="tile"]').count(), 17);
    assert.equal(await byTestId(page, 'page-label').textContent(), 'Page 1 of 2');
  }, 60000, 250);
  // page 1: us and the first 15 who joined; page 2: the last one. Which one that is depends on the
  // order the server saw their joins in: read it from the tiles shown.
  const onPage1 = Object.entries(await tiles(page)).filter(([, v]) => v.shown).map(([k]) => k).filter((k) => k !== 'Viv');
  assert.equal(onPage1.length, 15);
  const page2 = names.filter((n) => !onPage1.includes(n));
  assert.equal(page2.length, 1);
  // video arrives for the tiles shown
  await eventually(async () => {
    const p = await packets(page);
    for (const n of onPage1) assert.ok(p[n]?.video > 0, `video of ${n} on page 1: ${JSON.stringify(p[n])}`);
  }, 60000, 500);

  await byTestId(page, 'page-next').click();
  assert.equal(await byTestId(page, 'page-label').textContent(), 'Page 2 of 2');
  await sleep(2500); // the views go out within 250 ms; what was in flight lands
  const a = await packets(page);
  await sleep(4000);
  const b = await packets(page);
  const delta = (n, kind) => (b[n]?.[kind] ?? 0) - (a[n]?.[kind] ?? 0);
  for (const n of onPage1) {
    assert.equal(delta(n, 'video'), 0, `no video of ${n} (page 1) while on page 2`);
    assert.ok(delta(n, 'audio') > 50, `audio of ${n} goes on: ${delta(n, 'audio')} packets in 4 s`);
  }
  assert.ok(delta(page2[0], 'video') > 0, `video of ${page2[0]} (page 2)`);
  t.diagnostic(`4 s on page 2: video packets of the 15 page-1 tiles ${onPage1.reduce((x, n) => x + delta(n, 'video'), 0)}, ` +
    `of the page-2 tile ${delta(page2[0], 'video')}; audio packets per page-1 tile ` +
    `${Math.min(...onPage1.map((n) => delta(n, 'audio')))}-${Math.max(...onPage1.map((n) => delta(n, 'audio')))}`);
  const shown = Object.entries(await tiles(page)).filter(([, v]) => v.shown).map(([k]) => k);
  assert.deepEqual(shown, page2);

  // back to page 1: their video comes back
  await byTestId(page, 'page-prev').click();
  await eventually(async () => {
    const c = await packets(page);
    for (const n of onPage1.slice(0, 5)) assert.ok(c[n].video > b[n].video, `video of ${n} again`);
  }, 20000, 500);
  const res = await run;
  // nobody of the bench receives: its exit code says "nothing received" (1); a crash or a sanitizer
  // report would be another
  assert.ok(res.code === 0 || res.code === 1, `bench exit ${res.code}: ${res.stderr.slice(-2000)}`);
  assert.doesNotMatch(res.stderr, /Sanitizer/);
  assert.deepEqual(viewer.errors, []);
});

/** Who the page's app takes for the active speaker (username), or null. */
async function activeSpeaker(page) {
  return page.evaluate(() => {
    const app = window.videomeet;
    const id = app.layout.active;
    return id ? app.participants.get(id)?.username ?? (id === app.userId ? 'me' : id) : null;
  });
}

/** The usernames of the tiles on screen. */
async function shownTiles(page) {
  return Object.entries(await tiles(page)).filter(([, v]) => v.shown).map(([k]) => k);
}

/** Over `ms`, which remote users' video packets rose, and which did not. */
async function videoFlow(page, ms) {
  const a = await packets(page);
  await sleep(ms);
  const b = await packets(page);
  const flowing = [], still = [];
  for (const n of Object.keys(b)) ((b[n].video - (a[n]?.video ?? 0)) > 0 ? flowing : still).push(n);
  return { flowing: flowing.sort(), still: still.sort() };
}

test('25 people (24 bench + Chromium): grid pages, video only for the tiles shown, the active speaker follows the loudest', async (t) => {
  const TURN_MS = 5000;
  const N = 24;
  const id = await createMeeting(server.url);
  const viewer = await join(t, id, 'Viv');
  const run = bench(id, ['--meeting', String(N), '--publish-only', '--audio-turn-ms', String(TURN_MS), '--bitrate', '100',
    '--fps', '10', '--duration', '75', '--settle', '0', '--join-timeout', '60']);
  const { page } = viewer;
  await eventually(async () => {
    assert.equal(await page.locator('[data-testid="tile"]').count(), N + 1);
    assert.equal(await byTestId(page, 'page-label').textContent(), 'Page 1 of 2');
  }, 60000, 250);
  const page1 = (await shownTiles(page)).filter((n) => n !== 'Viv');
  assert.equal(page1.length, 15);
  // video for the 15 remote tiles of page 1, none for the 9 of page 2
  await eventually(async () => {
    const f = await videoFlow(page, 3000);
    assert.deepEqual(f.flowing, [...page1].sort(), JSON.stringify(f));
  }, 60000, 0);

  // The bench's participant k speaks (-20 dBov; the others send silence) during the turns
  // floor(now / TURN_MS) % N == k of CLOCK_MONOTONIC, which is node's hrtime clock too: the active
  // speaker must follow, within a few seconds of each turn's start.
  const turnOf = (us) => Math.floor(us / (TURN_MS * 1000)) % N;
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  const seen = [];
  const deadline = Date.now() + 4.5 * TURN_MS;
  let last = null;
  while (Date.now() < deadline) {
    const who = await activeSpeaker(page);
    const at = nowUs();
    if (who && who !== last) {
      const k = Number(/p(\d+)$/.exec(who)?.[1]);
      const turnStart = (Math.floor(at / (TURN_MS * 1000)) * TURN_MS * 1000);
      seen.push({ who, k, turn: turnOf(at), sinceTurnMs: Math.round((at - turnStart) / 1000) });
      last = who;
    }
    await sleep(100);
  }
  t.diagnostic(`active speaker changes seen: ${JSON.stringify(seen)}`);
  const switches = seen.slice(1); // the first was already there, maybe from a turn long started
  assert.ok(switches.length >= 3, JSON.stringify(seen));
  for (const s of switches) {
    assert.equal(s.k, s.turn, `the active speaker is the one whose turn it is: ${JSON.stringify(s)}`);
    assert.ok(s.sinceTurnMs < 3000, `within 3 s of the turn's start: ${JSON.stringify(s)}`);
  }

  // the speaker view: the active speaker large (whichever page it was on), a strip; video only for those
  await byTestId(page, 'layout-toggle').click();
  await eventually(async () => {
    const shown = await shownTiles(page);
    const main = Object.entries(await tiles(page)).find(([, v]) => v.main)?.[0];
    assert.equal(main, await activeSpeaker(page));
    const f = await videoFlow(page, 3000);
    const remote = shown.filter((n) => n !== 'Viv').sort();
    assert.ok(remote.length < 10, `a strip, not everyone: ${remote}`);
    // the main tile may have just changed (a turn): what flows is what is shown, give or take it
    const extra = f.flowing.filter((n) => !remote.includes(n));
    assert.ok(extra.length <= 1, `video only for tiles shown: ${JSON.stringify({ f, remote })}`);
    assert.ok(f.flowing.includes(main), `the main tile's video flows: ${JSON.stringify(f)}`);
  }, 30000, 0);
  const res = await run;
  assert.ok(res.code === 0 || res.code === 1, `bench exit ${res.code}: ${res.stderr.slice(-2000)}`);
  assert.doesNotMatch(res.stderr, /Sanitizer/);
  assert.deepEqual(viewer.errors, []);
});
