// Browser end-to-end tests of the meeting flow: real server (tests/lib/server.mjs), real chromium
// with fake camera and microphone (browser.mjs). Each person is its own browser profile.
//
//   cd tests && VM_SERVER_BIN=../build/videomeet node --test e2e/meeting.test.mjs
//
// Screenshots of the pages at 1280x800 and 375x800 go to a temp dir whose path is printed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer } from '../lib/server.mjs';
import { launchBrowser, screenshotDir, screenshot } from './browser.mjs';
import { eventually } from '../lib/wait.mjs';

const XSS = '<img src=x onerror=alert(1)>';
const XSS2 = '<img src=x onerror="window.__pwned=1"><b>bold</b>';

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
let shots = '';

before(async () => {
  server = await startServer();
  shots = await screenshotDir('meeting');
});

after(async () => {
  if (server) await server.stop();
});


const byTestId = (page, id) => page.locator(`[data-testid="${id}"]`);
const tileOf = (page, username) => page.locator(`[data-testid="tile"][data-username="${username}"]`);

async function textOf(locator) {
  return (await locator.textContent())?.trim();
}

/** Opens a browser that fails the test on uncaught page errors, and closes it afterwards. */
async function person(t, name, opts = {}) {
  const b = await launchBrowser({ name, ...opts });
  t.after(async () => {
    await b.close();
  });
  return b;
}

function assertNoPageErrors(...browsers) {
  const errs = browsers.flatMap((b) => b.errors);
  assert.deepEqual(errs, [], `errors in the pages:\n${errs.join('\n')}`);
}

/** From the setup page: fills the name and joins; waits for the meeting page. */
async function joinFromSetup(page, name) {
  await byTestId(page, 'setup-page').waitFor({ state: 'visible' });
  await byTestId(page, 'name-input').fill(name);
  await byTestId(page, 'join-now').click();
  await byTestId(page, 'meeting-page').waitFor({ state: 'visible' });
  await tileOf(page, name).waitFor({ state: 'visible' });
}

async function waitForCount(page, n) {
  await eventually(async () => {
    assert.equal(await textOf(byTestId(page, 'participant-count')), String(n));
    assert.equal(await page.locator('[data-testid="tile"]').count(), n);
  });
}

/** Waits until a <video> shows frames (fake camera). */
async function waitForVideoPlaying(locator) {
  await eventually(async () => {
    const ok = await locator.evaluate((v) => v.readyState >= 2 && v.videoWidth > 0 && !v.paused);
    assert.ok(ok, 'video is not playing');
  });
}

test('landing page: a bad meeting code shows an inline error, a good one opens setup', async (t) => {
  const a = await person(t, 'L');
  const { page } = a;
  await page.goto(server.url);
  await byTestId(page, 'landing-page').waitFor({ state: 'visible' });
  const error = byTestId(page, 'code-error');
  assert.equal(await error.isVisible(), false);

  await byTestId(page, 'join-button').click();
  await error.waitFor({ state: 'visible' });
  assert.match(await textOf(error), /enter a meeting code/i);

  for (const bad of ['abc', 'abcd234i', 'abcd23450', 'ilo01ilo', 'abcd 23 4', 'http://x/m/abcd23']) {
    await byTestId(page, 'join-code').fill(bad);
    assert.equal(await error.isVisible(), false, 'typing clears the error');
    await byTestId(page, 'join-code').press('Enter');
    await error.waitFor({ state: 'visible' });
    assert.match(await textOf(error), /not a valid meeting code/i, `error for ${bad}`);
    assert.equal(new URL(page.url()).pathname, '/', `still on landing for ${bad}`);
    assert.equal(await byTestId(page, 'join-code').getAttribute('aria-invalid'), 'true');
  }
  await screenshot(page, shots, 'landing-error-1280');

  // The parser accepts codes with spaces/dashes in any case, and pasted links.
  const parsed = await page.evaluate(async () => {
    const { parseMeetingCode } = await import('/js/config.js');
    return ['abcd2345', 'ABCD-2345', ' abcd 2345 ', 'http://127.0.0.1:3000/m/AbCd2345',
      'https://meet.example/m/abcd2345?x=1#y', 'abcd2345/', 'abcd234', 'abcd23455', 'abcd-234o', '',
      'http://host/x/abcd2345x'].map((s) => parseMeetingCode(s));
  });
  assert.deepEqual(parsed, ['abcd2345', 'abcd2345', 'abcd2345', 'abcd2345', 'abcd2345', null, null, null,
    null, null, null]);

  // Grid geometry: 2 columns on wide screens for 2–4 people, more for more, 1 column on phones;
  // up to 16 tiles all fit the stage.
  const geo = await page.evaluate(async () => {
    const { gridGeometry } = await import('/js/ui.js');
    const out = {};
    for (const n of [1, 2, 4, 5, 9, 12, 16, 30]) out[n] = gridGeometry(n, 1248, 700, 10);
    out.phone = gridGeometry(2, 359, 700, 10);
    out.phone5 = gridGeometry(5, 359, 700, 10);
    return out;
  });
  assert.deepEqual([1, 2, 4, 5, 9, 12, 16, 30].map((n) => geo[n].cols), [1, 2, 2, 3, 3, 4, 4, 5]);
  for (const n of [1, 2, 4, 5, 9, 12, 16]) {
    const { cols, tileW, tileH } = geo[n];
    const rows = Math.ceil(n / cols);
    assert.ok(rows * tileH + (rows - 1) * 10 <= 700, `${n} tiles fit the height`);
    assert.ok(cols * tileW + (cols - 1) * 10 <= 1248, `${n} tiles fit the width`);
    assert.ok(tileW >= 176, `${n} tiles are not tiny`);
  }
  assert.equal(geo.phone.cols, 1);
  assert.equal(geo.phone.tileW, 359);
  assert.equal(geo.phone5.cols, 1);

  await byTestId(page, 'join-code').fill(`${server.url}/m/ABCD-2345`);
  await byTestId(page, 'join-button').click();
  await byTestId(page, 'setup-page').waitFor({ state: 'visible' });
  assert.equal(new URL(page.url()).pathname, '/m/abcd2345');
  assert.equal(await textOf(byTestId(page, 'setup-meeting-code')), 'abcd2345');

  // Back button returns to the landing page.
  await page.goBack();
  await byTestId(page, 'landing-page').waitFor({ state: 'visible' });

  // An upper-case link is folded; an invalid link lands on the landing page with a message.
  await page.goto(`${server.url}/m/ABCD2345`);
  await byTestId(page, 'setup-page').waitFor({ state: 'visible' });
  assert.equal(new URL(page.url()).pathname, '/m/abcd2345');
  await page.goto(`${server.url}/m/abcd234`);
  await byTestId(page, 'landing-page').waitFor({ state: 'visible' });
  assert.equal(new URL(page.url()).pathname, '/');
  await eventually(async () => assert.match(await textOf(byTestId(page, 'toast-area')), /not valid/i));
  assertNoPageErrors(a);
});

test('two people meet, chat, mute, turn the camera off, a late joiner sees the history, leave', async (t) => {
  const A = await person(t, 'A');
  const B = await person(t, 'B');
  const a = A.page;
  const b = B.page;
  for (const who of [A, B]) {
    who.page.on('dialog', (d) => {
      who.errors.push(`[${who.name}] dialog opened: ${d.message()}`);
      d.dismiss().catch(() => {});
    });
  }

  // --- A: landing → New meeting → setup
  await a.goto(server.url);
  await byTestId(a, 'landing-page').waitFor({ state: 'visible' });
  await screenshot(a, shots, 'landing-1280');
  await byTestId(a, 'new-meeting').click();
  await byTestId(a, 'setup-page').waitFor({ state: 'visible' });
  const path = new URL(a.url()).pathname;
  assert.match(path, /^\/m\/[abcdefghjkmnpqrstuvwxyz23456789]{8}$/);
  const meetingId = path.slice(3);
  assert.equal(await textOf(byTestId(a, 'setup-meeting-code')), meetingId);

  // Preview plays the fake camera, mirrored; pickers are filled with labelled devices.
  const preview = byTestId(a, 'preview-video');
  await waitForVideoPlaying(preview);
  assert.match(await preview.evaluate((v) => getComputedStyle(v).transform), /^matrix\(-1, 0, 0, 1/);
  await eventually(async () => {
    const cams = await byTestId(a, 'camera-select').locator('option').allTextContents();
    const mics = await byTestId(a, 'mic-select').locator('option').allTextContents();
    assert.ok(cams.length >= 1 && cams.every((l) => l.trim() !== ''), `cameras: ${cams}`);
    assert.ok(mics.length >= 1 && mics.every((l) => l.trim() !== ''), `mics: ${mics}`);
    assert.equal(await byTestId(a, 'camera-select').isDisabled(), false);
  });
  // The level meter moves with the fake microphone's beeps.
  await eventually(async () => {
    const v = Number(await byTestId(a, 'mic-level').getAttribute('aria-valuenow'));
    assert.ok(v > 5, `mic level ${v}`);
  });
  assert.equal(await byTestId(a, 'media-status').isVisible(), false, 'no device problem shown');
  // Switching the camera re-acquires the track and the preview keeps playing.
  const trackBefore = await preview.evaluate((v) => v.srcObject.getVideoTracks()[0].id);
  const camValue = await byTestId(a, 'camera-select').inputValue();
  await byTestId(a, 'camera-select').selectOption(camValue);
  await byTestId(a, 'camera-select').dispatchEvent('change');
  await eventually(async () => {
    const id = await preview.evaluate((v) => v.srcObject.getVideoTracks()[0]?.id);
    assert.ok(id && id !== trackBefore, 'a new camera track');
  });
  await waitForVideoPlaying(preview);

  // An empty name is refused.
  await byTestId(a, 'name-input').fill('   ');
  await byTestId(a, 'join-now').click();
  await byTestId(a, 'name-error').waitFor({ state: 'visible' });
  await byTestId(a, 'name-input').fill('N'.repeat(60));
  assert.equal(await byTestId(a, 'name-input').inputValue(), 'N'.repeat(50), 'names are cut at 50');
  assert.equal(await byTestId(a, 'name-error').isVisible(), false, 'typing clears the error');
  await byTestId(a, 'name-input').fill('Alice');
  await screenshot(a, shots, 'setup-1280');
  await byTestId(a, 'join-now').click();
  await byTestId(a, 'meeting-page').waitFor({ state: 'visible' });
  await waitForCount(a, 1);
  const aliceLocal = tileOf(a, 'Alice');
  assert.equal(await aliceLocal.getAttribute('data-local'), 'true');
  assert.equal(await textOf(aliceLocal.locator('[data-testid="tile-name"]')), 'Alice (You)');
  await waitForVideoPlaying(aliceLocal.locator('video'));
  assert.equal(await aliceLocal.getAttribute('data-camera-off'), 'false');
  assert.equal(await textOf(byTestId(a, 'meeting-code')), meetingId);

  // --- Copy link: the clipboard holds the meeting's URL.
  await byTestId(a, 'copy-link').click();
  await eventually(async () => assert.match(await textOf(byTestId(a, 'toast-area')), /Link copied/));
  const link = await a.evaluate(() => navigator.clipboard.readText());
  assert.equal(link, `${server.url}/m/${meetingId}`);

  // --- B opens the link and joins.
  await b.goto(link);
  await byTestId(b, 'setup-page').waitFor({ state: 'visible' });
  assert.equal(await textOf(byTestId(b, 'setup-meeting-code')), meetingId);
  await joinFromSetup(b, 'Bob');
  await waitForCount(a, 2);
  await waitForCount(b, 2);
  const aliceInB = tileOf(b, 'Alice');
  const bobInA = tileOf(a, 'Bob');
  await aliceInB.waitFor({ state: 'visible' });
  await bobInA.waitFor({ state: 'visible' });
  assert.equal(await textOf(aliceInB.locator('[data-testid="tile-name"]')), 'Alice');
  assert.equal(await textOf(bobInA.locator('[data-testid="tile-name"]')), 'Bob');
  const aliceId = await aliceLocal.getAttribute('data-user-id');
  assert.ok(aliceId);
  assert.equal(await aliceInB.getAttribute('data-user-id'), aliceId);
  assert.equal(await aliceInB.locator('[data-testid="tile-muted"]').isVisible(), false);
  assert.equal(await aliceInB.locator('[data-testid="tile-camera-off"]').isVisible(), false);
  // Two tiles side by side on a wide screen.
  const [r1, r2] = await b.locator('[data-testid="tile"]').evaluateAll((els) =>
    els.map((e) => e.getBoundingClientRect().toJSON()));
  assert.equal(Math.round(r1.top), Math.round(r2.top), 'two tiles in one row at 1280px');
  assert.ok(r1.width > 400 && r2.width > 400, `tiles are large: ${r1.width}, ${r2.width}`);

  // --- Chat: A sends; B (panel closed) sees an unread badge of 1; opening clears it.
  assert.equal(await byTestId(b, 'unread-badge').isVisible(), false);
  assert.equal(await byTestId(b, 'chat-panel').isVisible(), false);
  await byTestId(a, 'chat-toggle').click();
  await byTestId(a, 'chat-panel').waitFor({ state: 'visible' });
  await byTestId(a, 'chat-input').fill('Hello Bob!');
  await byTestId(a, 'chat-input').press('Enter');
  await eventually(async () => assert.equal(await textOf(byTestId(b, 'unread-badge')), '1'));
  assert.equal(await byTestId(b, 'unread-badge').isVisible(), true);
  assert.equal(await byTestId(a, 'chat-input').inputValue(), '', 'input cleared after sending');
  const aMsgs = byTestId(a, 'chat-message');
  await eventually(async () => assert.equal(await aMsgs.count(), 1));
  assert.equal(await textOf(aMsgs.first().locator('[data-testid="chat-sender"]')), 'You');
  assert.equal(await byTestId(a, 'unread-badge').isVisible(), false, 'own messages are not unread');

  await byTestId(b, 'chat-toggle').click();
  await byTestId(b, 'chat-panel').waitFor({ state: 'visible' });
  assert.equal(await byTestId(b, 'unread-badge').isVisible(), false, 'opening the panel clears the badge');
  const bMsgs = byTestId(b, 'chat-message');
  assert.equal(await bMsgs.count(), 1);
  assert.equal(await textOf(bMsgs.first().locator('[data-testid="chat-sender"]')), 'Alice');
  assert.equal(await textOf(bMsgs.first().locator('[data-testid="chat-text"]')), 'Hello Bob!');
  assert.match(await textOf(bMsgs.first().locator('[data-testid="chat-time"]')), /^\d{2}:\d{2}$/);
  const hhmm = await b.evaluate(() => {
    const d = new Date();
    return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  });
  const shown = await textOf(bMsgs.first().locator('[data-testid="chat-time"]'));
  assert.ok(Math.abs(toMinutes(shown) - toMinutes(hhmm)) <= 1 || Math.abs(toMinutes(shown) - toMinutes(hhmm)) >= 1438,
    `chat time ${shown} is local now (${hhmm})`);

  // Close B's panel again: the next messages are counted.
  await byTestId(b, 'chat-close').click();
  assert.equal(await byTestId(b, 'chat-panel').isVisible(), false);

  // HTML in chat shows as text and never runs. The send button works too.
  await byTestId(a, 'chat-input').fill(XSS);
  await byTestId(a, 'chat-send').click();
  await byTestId(a, 'chat-input').fill(XSS2);
  await byTestId(a, 'chat-input').press('Enter');
  await eventually(async () => assert.equal(await textOf(byTestId(b, 'unread-badge')), '2'));
  await byTestId(b, 'chat-toggle').click();
  await eventually(async () => assert.equal(await bMsgs.count(), 3));
  assert.equal(await bMsgs.nth(1).locator('[data-testid="chat-text"]').textContent(), XSS);
  assert.equal(await bMsgs.nth(2).locator('[data-testid="chat-text"]').textContent(), XSS2);
  assert.equal(await byTestId(b, 'chat-list').locator('img, b').count(), 0, 'no element made from chat text');
  assert.equal(await b.evaluate(() => window.__pwned), undefined);
  // The newest message is scrolled into view.
  assert.ok(await bMsgs.nth(2).isVisible());

  // The input enforces the server's 1000-character limit, counted in code points as the server does.
  await byTestId(a, 'chat-input').fill('x'.repeat(1200));
  assert.equal((await byTestId(a, 'chat-input').inputValue()).length, 1000);
  assert.equal(await textOf(byTestId(a, 'chat-counter')), '1000 / 1000');
  await byTestId(a, 'chat-input').fill('\u{1F600}'.repeat(1001));
  assert.equal([...await byTestId(a, 'chat-input').inputValue()].length, 1000);
  await byTestId(a, 'chat-input').fill('   ');
  assert.equal(await byTestId(a, 'chat-send').isDisabled(), true, 'blank messages cannot be sent');
  await byTestId(a, 'chat-input').press('Enter');
  await byTestId(a, 'chat-input').fill('');

  // --- Mute in A: B sees the muted indicator on A's tile; unmute hides it.
  await byTestId(a, 'mute-button').click();
  await aliceInB.locator('[data-testid="tile-muted"]').waitFor({ state: 'visible' });
  assert.equal(await aliceInB.getAttribute('data-muted'), 'true');
  assert.equal(await byTestId(a, 'mute-button').getAttribute('data-on'), 'false');
  assert.equal(await aliceLocal.locator('[data-testid="tile-muted"]').isVisible(), true, 'own tile shows muted');
  assert.equal(await a.evaluate(() => window.videomeet.media.audioTrack.enabled), false, 'the track is disabled');
  assert.equal(await bobInA.locator('[data-testid="tile-muted"]').isVisible(), false, 'B is not muted');
  // A muted microphone sends silence, which Opus leaves out (DTX: the SFU's answer says usedtx=1):
  // a packet every 400 ms or so instead of 50 a second, so a big meeting's muted people cost little.
  const audioSent = () => a.evaluate(async () => {
    let n = 0;
    (await window.videomeet.rtc.up.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'audio') n += r.packetsSent;
    });
    return n;
  });
  await new Promise((r) => setTimeout(r, 1000)); // the encoder's silence detection settles
  const sent0 = await audioSent();
  await new Promise((r) => setTimeout(r, 3000));
  const mutedRate = ((await audioSent()) - sent0) / 3;
  t.diagnostic(`muted microphone: ${mutedRate.toFixed(1)} audio packets/s`);
  assert.ok(mutedRate < 15, `a muted microphone sent ${mutedRate} packets/s (DTX off?)`);

  // --- Camera off in A: B sees the camera-off avatar with A's initial.
  await byTestId(a, 'camera-button').click();
  await aliceInB.locator('[data-testid="tile-camera-off"]').waitFor({ state: 'visible' });
  assert.equal(await aliceInB.getAttribute('data-camera-off'), 'true');
  assert.equal(await aliceInB.locator('[data-testid="tile-avatar"]').isVisible(), true);
  assert.equal(await textOf(aliceInB.locator('[data-testid="tile-avatar"]')), 'A');
  assert.equal(await aliceLocal.getAttribute('data-camera-off'), 'true', 'own tile shows the avatar');
  assert.equal(await a.evaluate(() => window.videomeet.media.videoTrack.enabled), false);
  await screenshot(b, shots, 'meeting-chat-1280');
  await screenshot(a, shots, 'meeting-muted-1280');

  await byTestId(a, 'mute-button').click();
  await aliceInB.locator('[data-testid="tile-muted"]').waitFor({ state: 'hidden' });
  assert.equal(await aliceInB.getAttribute('data-muted'), 'false');
  await byTestId(a, 'camera-button').click();
  await aliceInB.locator('[data-testid="tile-camera-off"]').waitFor({ state: 'hidden' });
  await eventually(async () => assert.equal(await aliceLocal.getAttribute('data-camera-off'), 'false'));

  // --- Narrow screen: one column.
  await b.setViewportSize({ width: 375, height: 800 });
  await byTestId(b, 'chat-close').click();
  await eventually(async () => {
    const rects = await b.locator('[data-testid="tile"]').evaluateAll((els) =>
      els.map((e) => e.getBoundingClientRect().toJSON()));
    assert.equal(rects.length, 2);
    assert.ok(rects[1].top >= rects[0].bottom, 'tiles stacked at 375px');
    for (const r of rects) assert.ok(r.left >= 0 && r.right <= 375, `tile inside the screen: ${JSON.stringify(r)}`);
  });
  const overflow = await b.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 375, `no horizontal scroll at 375px (${overflow})`);
  await screenshot(b, shots, 'meeting-375');
  await byTestId(b, 'chat-toggle').click();
  await screenshot(b, shots, 'meeting-chat-375');
  await byTestId(b, 'chat-close').click();
  await b.setViewportSize({ width: 1280, height: 800 });

  // --- A late joiner sees the chat history (not counted as unread) and everybody.
  const C = await person(t, 'C');
  const c = C.page;
  await c.goto(`${server.url}/m/${meetingId.toUpperCase()}`);
  await joinFromSetup(c, 'Carol');
  await waitForCount(c, 3);
  await waitForCount(a, 3);
  await waitForCount(b, 3);
  assert.equal(await byTestId(c, 'unread-badge').isVisible(), false);
  await byTestId(c, 'chat-toggle').click();
  const cMsgs = byTestId(c, 'chat-message');
  await eventually(async () => assert.equal(await cMsgs.count(), 3));
  assert.deepEqual(await cMsgs.locator('[data-testid="chat-text"]').allTextContents(), ['Hello Bob!', XSS, XSS2]);
  assert.deepEqual(await cMsgs.locator('[data-testid="chat-sender"]').allTextContents(), ['Alice', 'Alice', 'Alice']);
  assert.equal(await byTestId(c, 'chat-list').locator('img, b').count(), 0);
  // Carol chats back; A and B both get it.
  await byTestId(c, 'chat-input').fill('Hi all, Carol here');
  await byTestId(c, 'chat-input').press('Enter');
  await eventually(async () => assert.equal(await textOf(aMsgs.last().locator('[data-testid="chat-text"]')),
    'Hi all, Carol here'));
  await eventually(async () => assert.equal(await textOf(bMsgs.last().locator('[data-testid="chat-sender"]')), 'Carol'));
  await c.setViewportSize({ width: 375, height: 800 });
  await byTestId(c, 'chat-close').click();
  await screenshot(c, shots, 'meeting-3-375');

  // Carol leaves: everybody else is back to 2.
  await byTestId(c, 'leave-button').click();
  await byTestId(c, 'landing-page').waitFor({ state: 'visible' });
  await waitForCount(a, 2);
  await waitForCount(b, 2);
  await screenshot(c, shots, 'landing-375');

  // --- A leaves: back to the landing page, the camera is released; B sees A's tile go.
  await byTestId(a, 'leave-button').click();
  await byTestId(a, 'landing-page').waitFor({ state: 'visible' });
  assert.equal(new URL(a.url()).pathname, '/');
  await eventually(async () => assert.equal(await a.evaluate(() =>
    window.videomeet.media.stream.getTracks().length), 0, 'tracks stopped'));
  await aliceInB.waitFor({ state: 'detached' });
  await waitForCount(b, 1);
  assert.equal(await tileOf(b, 'Bob').count(), 1);

  // The name is remembered for the next meeting.
  await byTestId(a, 'join-code').fill(meetingId);
  await byTestId(a, 'join-button').click();
  await byTestId(a, 'setup-page').waitFor({ state: 'visible' });
  assert.equal(await byTestId(a, 'name-input').inputValue(), 'Alice');
  await a.setViewportSize({ width: 375, height: 800 });
  await waitForVideoPlaying(byTestId(a, 'preview-video'));
  await screenshot(a, shots, 'setup-375');

  assertNoPageErrors(A, B, C);
});

test('joining without a camera, and without any device, still works', async (t) => {
  // Stubs that make getUserMedia fail like a machine without a camera (or without any device).
  const noCamera = () => {
    const md = navigator.mediaDevices;
    const gum = md.getUserMedia.bind(md);
    const enumerate = md.enumerateDevices.bind(md);
    md.getUserMedia = async (c) => {
      if (c && c.video) throw new DOMException('Requested device not found', 'NotFoundError');
      return gum(c);
    };
    md.enumerateDevices = async () => (await enumerate()).filter((d) => d.kind !== 'videoinput');
  };
  const noDevice = () => {
    const md = navigator.mediaDevices;
    md.getUserMedia = async () => { throw new DOMException('Permission denied', 'NotAllowedError'); };
    md.enumerateDevices = async () => [];
  };
  const D = await person(t, 'D', { initScript: noCamera });
  const E = await person(t, 'E', { initScript: noDevice });
  const d = D.page;
  const e = E.page;
  const meetingId = 'camx2345';

  await d.goto(`${server.url}/m/${meetingId}`);
  await byTestId(d, 'setup-page').waitFor({ state: 'visible' });
  await eventually(async () => assert.match(await textOf(byTestId(d, 'media-status')), /No camera found/));
  assert.equal(await byTestId(d, 'camera-select').isDisabled(), true);
  assert.equal(await byTestId(d, 'mic-select').isDisabled(), false);
  await joinFromSetup(d, 'Dora');

  await e.goto(`${server.url}/m/${meetingId}`);
  await byTestId(e, 'setup-page').waitFor({ state: 'visible' });
  await eventually(async () => assert.match(await textOf(byTestId(e, 'media-status')), /blocked/));
  await screenshot(e, shots, 'setup-denied-1280');
  await joinFromSetup(e, 'Eve Smith');
  assert.equal(await byTestId(e, 'mute-button').isDisabled(), true);
  assert.equal(await byTestId(e, 'camera-button').isDisabled(), true);

  await waitForCount(d, 2);
  await waitForCount(e, 2);
  // The others see what each joined with (join-meeting audio/video flags).
  const doraInE = tileOf(e, 'Dora');
  assert.equal(await doraInE.locator('[data-testid="tile-camera-off"]').isVisible(), true);
  assert.equal(await doraInE.locator('[data-testid="tile-muted"]').isVisible(), false);
  const eveInD = tileOf(d, 'Eve Smith');
  assert.equal(await eveInD.locator('[data-testid="tile-camera-off"]').isVisible(), true);
  assert.equal(await eveInD.locator('[data-testid="tile-muted"]').isVisible(), true);
  assert.equal(await textOf(eveInD.locator('[data-testid="tile-avatar"]')), 'ES');
  await screenshot(d, shots, 'meeting-nocam-1280');
  // Chat works without devices.
  await byTestId(e, 'chat-toggle').click();
  await byTestId(e, 'chat-input').fill('no camera, no problem');
  await byTestId(e, 'chat-input').press('Enter');
  await eventually(async () => assert.equal(await textOf(byTestId(d, 'unread-badge')), '1'));
  assertNoPageErrors(D, E);
});

/**
 * A TCP proxy in front of the server, so a test can cut every connection (like a network drop)
 * and refuse new ones for a while.
 */
async function startProxy(targetPort) {
  const pairs = new Set();
  let refusing = false;
  const srv = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = [client, upstream];
    pairs.add(pair);
    const done = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const sock of pair) {
      sock.on('error', done);
      sock.on('close', done);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  return {
    url: `http://127.0.0.1:${port}`,
    /** Cuts every open connection; while `refuse` is true new ones are closed at once. */
    cut(refuse) {
      refusing = refuse;
      for (const [a, b] of [...pairs]) {
        a.destroy();
        b.destroy();
      }
    },
    accept() {
      refusing = false;
    },
    close: () => new Promise((resolve) => {
      refusing = true;
      for (const [a, b] of [...pairs]) {
        a.destroy();
        b.destroy();
      }
      srv.close(resolve);
    }),
  };
}

test('a dropped connection shows "Reconnecting…" and resumes as the same participant, with its media state', async (t) => {
  const proxy = await startProxy(server.port);
  t.after(() => proxy.close());
  const A = await person(t, 'RA');
  const B = await person(t, 'RB');
  const a = A.page;
  const b = B.page;
  const meetingId = 'retry234';
  await a.goto(`${proxy.url}/m/${meetingId}`);
  await joinFromSetup(a, 'Ann');
  await b.goto(`${server.url}/m/${meetingId}`); // B is not behind the proxy
  await joinFromSetup(b, 'Ben');
  await waitForCount(a, 2);
  await byTestId(a, 'mute-button').click();
  const annInB = tileOf(b, 'Ann');
  await annInB.locator('[data-testid="tile-muted"]').waitFor({ state: 'visible' });
  const oldId = await annInB.getAttribute('data-user-id');
  await byTestId(b, 'chat-toggle').click();
  await byTestId(b, 'chat-input').fill('before the drop');
  await byTestId(b, 'chat-input').press('Enter');
  await eventually(async () => assert.equal(await textOf(byTestId(a, 'unread-badge')), '1'));
  await byTestId(b, 'chat-close').click();

  // The network drops for A: the server sees A's socket go; A shows the banner and keeps trying; B
  // sees A's tile marked as reconnecting (A stays in the meeting for the grace period).
  proxy.cut(true);
  await byTestId(a, 'reconnecting').waitFor({ state: 'visible' });
  assert.match(await textOf(byTestId(a, 'reconnecting')), /Reconnecting… \(attempt \d+\)/);
  await annInB.locator('[data-testid="tile-reconnecting"]').waitFor({ state: 'visible' });
  await waitForCount(b, 2);
  await screenshot(a, shots, 'meeting-reconnecting-1280');
  // While disconnected, Ann turns her camera off; the rejoin carries it.
  await byTestId(a, 'camera-button').click();
  await new Promise((r) => setTimeout(r, 1500)); // a few refused retries

  proxy.accept();
  await byTestId(a, 'reconnecting').waitFor({ state: 'hidden', timeout: 20000 });
  await annInB.locator('[data-testid="tile-reconnecting"]').waitFor({ state: 'hidden' });
  await waitForCount(a, 2);
  await waitForCount(b, 2);
  await annInB.locator('[data-testid="tile-muted"]').waitFor({ state: 'visible' });
  await annInB.locator('[data-testid="tile-camera-off"]').waitFor({ state: 'visible' });
  assert.equal(await textOf(annInB.locator('[data-testid="tile-name"]')), 'Ann');
  // The same participant: the same userId, on A's own tile and on B's.
  assert.equal(await annInB.getAttribute('data-user-id'), oldId, 'a resume keeps the userId');
  assert.equal(await tileOf(a, 'Ann').getAttribute('data-user-id'), oldId);
  // The resume's chat history does not repeat what A already has, nor count it as unread again.
  assert.equal(await textOf(byTestId(a, 'unread-badge')), '1');
  // Chat works again, both ways.
  await byTestId(b, 'chat-toggle').click();
  await byTestId(b, 'chat-input').fill('back again');
  await byTestId(b, 'chat-input').press('Enter');
  await eventually(async () => assert.equal(await textOf(byTestId(a, 'unread-badge')), '2'));
  await byTestId(a, 'chat-toggle').click();
  await byTestId(a, 'chat-input').fill('yes I am');
  await byTestId(a, 'chat-input').press('Enter');
  const expected = ['before the drop', 'back again', 'yes I am'];
  await eventually(async () => assert.deepEqual(
    await byTestId(b, 'chat-message').locator('[data-testid="chat-text"]').allTextContents(), expected));
  await eventually(async () => assert.deepEqual(
    await byTestId(a, 'chat-message').locator('[data-testid="chat-text"]').allTextContents(), expected));

  // A second drop, with A allowed only two tries (the app's limit is 8; retry.js): after them A stops,
  // says so and offers "Try again"; pressing it once the network is back resumes, same userId.
  await a.evaluate(() => { window.videomeet.signaling.retry.opts.maxAttempts = 2; });
  proxy.cut(true);
  await byTestId(a, 'retry-button').waitFor({ state: 'visible', timeout: 15000 });
  assert.equal(await textOf(byTestId(a, 'reconnecting-text')), 'Connection lost.');
  await screenshot(a, shots, 'meeting-connection-lost-1280');
  proxy.accept();
  await new Promise((r) => setTimeout(r, 2500));
  assert.ok(await byTestId(a, 'retry-button').isVisible(), 'it kept trying by itself');
  await byTestId(a, 'retry-button').click();
  await byTestId(a, 'reconnecting').waitFor({ state: 'hidden', timeout: 10000 });
  await annInB.locator('[data-testid="tile-reconnecting"]').waitFor({ state: 'hidden' });
  assert.equal(await annInB.getAttribute('data-user-id'), oldId);
  await waitForCount(b, 2);
  // Only page errors count here: the browser logs the refused WebSocket connections.
  const pageErrors = [...A.errors, ...B.errors].filter((m) => !/WebSocket|ERR_CONNECTION|Failed to load/.test(m));
  assert.deepEqual(pageErrors, []);
});

test('a full meeting shows a clear message and stays on setup', async (t) => {
  const srv = await startServer({ MAX_PARTICIPANTS: '1', VM_MAX_PARTICIPANTS: '1' });
  t.after(() => srv.stop());
  const cfg = await (await fetch(`${srv.url}/api/config`)).json();
  if (cfg.maxParticipants !== 1) {
    t.skip(`the server does not take MAX_PARTICIPANTS from the environment (maxParticipants=${cfg.maxParticipants})`);
    return;
  }
  const F = await person(t, 'F');
  const G = await person(t, 'G');
  await F.page.goto(`${srv.url}/m/packed23`);
  await joinFromSetup(F.page, 'Fay');
  await G.page.goto(`${srv.url}/m/packed23`);
  await byTestId(G.page, 'name-input').fill('Gus');
  await byTestId(G.page, 'join-now').click();
  await eventually(async () => assert.match(await textOf(byTestId(G.page, 'toast-area')), /meeting is full/i));
  assert.equal(await byTestId(G.page, 'setup-page').isVisible(), true);
  assert.equal(await byTestId(G.page, 'join-now').isDisabled(), false);
  await screenshot(G.page, shots, 'setup-full-1280');
  assertNoPageErrors(F, G);
});

function toMinutes(hhmm) {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
}
