// Firefox (Debian's firefox-esr, driven by puppeteer-core over WebDriver BiDi) in meetings with
// Chromium through the SFU, through the real web UI (landing, setup and meeting pages).
//
//   cd tests && VM_SERVER_BIN=../build/videomeet node --test e2e/firefox.test.mjs
//   (inside `unshare -n` with lo up, like the other browser tests: loopback is the only link)
//
// - Firefox with its own camera as the web app asks for it (1280x720) publishes simulcast (rid q/h/f
//   from web/js/rtc.js, 320/640/1280 wide) next to a Chromium publishing simulcast at 960x540: each
//   decodes the other's video and receives the other's audio. Firefox starts on its two lower
//   layers and pads (RTX repeats of its lowest layer, several times that layer's rate) until its
//   estimate allows the top one, 10 to 30 s here; through that and after it Chromium keeps
//   decoding Firefox, and gets Firefox's top layer once it is sent. Firefox decodes Chromium's top
//   layer, and follows it down to the middle one (a layer switch through the SFU's VP8 rewriting)
//   when Chromium stops its top encoding. Firefox's chat reaches Chromium. Chromium's window is
//   large so that its tile of Firefox needs the 1280-wide layer; made smaller, the 640-wide layer
//   is enough, and Firefox stops encoding its top one when the SFU says nobody receives it
//   (video-layers → RTCRtpSender.setParameters, in Firefox too).
// - Firefox with a 320x180 camera publishes one stream (rtc.js asks for no simulcast below 270
//   lines) next to a small-camera Chromium: again each decodes the other and receives audio.
//
// What each side sends and decodes (per rid, width, fps) is printed for the issue notes; the waits
// are eventually() with generous bounds (two browsers encoding next to a sanitizer build on two
// cores), nothing asserts on time.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import {
  launchBrowser, launchFirefox, byTestId, visible, smallCamera, camera, createMeeting, received, setTopEncoding,
} from './browser.mjs';
import { eventually, sleep } from '../lib/wait.mjs';

let server;

before(async () => {
  server = await startServer({ RTC_MIN_PORT: '47000', RTC_MAX_PORT: '47199' });
});

after(async () => {
  if (server) await server.stop();
});

async function firefox(t, name, initScript) {
  const b = await launchFirefox({ name, initScript });
  t.after(() => b.close());
  return b;
}

async function chromium(t, name, initScript, viewport) {
  const b = await launchBrowser({ name, initScript, viewport, extraArgs: ['--autoplay-policy=no-user-gesture-required'] });
  t.after(() => b.close());
  return b;
}

/** From the landing page: types the meeting code, goes to setup, fills the name, joins. */
async function join(b, meetingId, name) {
  const { page } = b;
  await page.goto(server.url);
  await visible(page, 'landing-page');
  await byTestId(page, 'join-code').fill(meetingId);
  await byTestId(page, 'join-button').click();
  await visible(page, 'setup-page');
  await byTestId(page, 'name-input').fill(name);
  await byTestId(page, 'join-now').click();
  await visible(page, 'meeting-page');
}

/** The publisher's video encodings as its outbound-rtp stats see them: rid (or '-') → {width, height, frames, bytes}. */
async function sent(page) {
  return page.evaluate(async () => {
    const out = {};
    const up = window.videomeet?.rtc?.up;
    if (!up) return out;
    (await up.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video') {
        out[r.rid || '-'] = { width: r.frameWidth || 0, height: r.frameHeight || 0, frames: r.framesEncoded || 0, bytes: r.bytesSent || 0 };
      }
    });
    return out;
  });
}

/** What `page` receives of `from`'s video and audio (browser.mjs received()), or {} yet. */
async function receivedFrom(page, from) {
  return (await received(page))[from] || {};
}

/**
 * Waits until `page` decodes video from `from` (frames rising, width > 0, and `width` when given)
 * and receives audio from them (packets and bytes rising); prints and returns the rates seen.
 */
async function assertReceiving(page, from, label, width = 0) {
  const first = await eventually(async () => {
    const r = await receivedFrom(page, from);
    assert.ok(r.video?.frames > 0 && r.video.width > 0 && (!width || r.video.width === width) && r.audio?.packets > 0,
      `${label}: not decoding ${from}${width ? ` at ${width} wide` : ''} yet: ${JSON.stringify(r)}`);
    return r;
  }, 30000, 250);
  const t0 = Date.now();
  const last = await eventually(async () => {
    const r = await receivedFrom(page, from);
    assert.ok(r.video.frames >= first.video.frames + 15 && r.video.width > 0 && (!width || r.video.width === width),
      `${label}: video from ${from} stopped: ${JSON.stringify(first.video)} → ${JSON.stringify(r.video)}`);
    assert.ok(r.audio.packets >= first.audio.packets + 25,
      `${label}: audio from ${from} stopped: ${JSON.stringify(first.audio)} → ${JSON.stringify(r.audio)}`);
    return r;
  }, 15000, 250);
  const s = (Date.now() - t0) / 1000;
  const rates = { width: last.video.width, fps: (last.video.frames - first.video.frames) / s,
    audioPps: (last.audio.packets - first.audio.packets) / s };
  console.log(`# ${label}: ${from}'s video at ${rates.width} wide, ${rates.fps.toFixed(1)} fps decoded; ` +
    `${rates.audioPps.toFixed(0)} audio packets/s`);
  return rates;
}

/** sent() and when. */
async function sample(page) {
  return { at: Date.now(), e: await sent(page) };
}

/** Per rid: size and kbit/s sent between two samples. */
function sendRates(a, b) {
  const s = (b.at - a.at) / 1000;
  return Object.fromEntries(Object.keys(b.e).sort().map((rid) => [rid,
    `${b.e[rid].width}x${b.e[rid].height} ${(((b.e[rid].bytes - (a.e[rid]?.bytes || 0)) * 8) / s / 1000).toFixed(0)} kbit/s`]));
}

/** The state of the <video> in `username`'s tile on `page`. */
async function tileVideo(page, username) {
  return page.evaluate((who) => {
    const v = document.querySelector(`[data-testid="tile"][data-username="${who}"] video`);
    return v && { paused: v.paused, readyState: v.readyState, width: v.videoWidth, time: v.currentTime, muted: v.muted };
  }, username);
}

/** Waits until `username`'s tile on `page` plays its video (and sound: the element is not muted). */
async function assertTilePlaying(page, username, label) {
  const first = await eventually(async () => {
    const v = await tileVideo(page, username);
    assert.ok(v && !v.paused && v.readyState >= 2 && v.width > 0 && !v.muted, `${label}: ${username}'s tile: ${JSON.stringify(v)}`);
    return v;
  }, 15000, 200);
  await eventually(async () => {
    const v = await tileVideo(page, username);
    assert.ok(!v.paused && v.time > first.time + 1, `${label}: ${username}'s tile stopped: ${JSON.stringify(v)}`);
  }, 15000, 200);
}

function assertNoPageErrors(...browsers) {
  const errs = browsers.flatMap((b) => b.errors);
  assert.deepEqual(errs, [], `errors in the pages:\n${errs.join('\n')}`);
}

test('Firefox publishing simulcast with a simulcast Chromium: each decodes and hears the other, through Firefox\'s ramp-up to its top layer and a layer switch; chat', async (t) => {
  const id = await createMeeting(server.url);
  const ff = await firefox(t, 'Fox');
  // A large window: Chromium's tile of Firefox is over 704 pixels wide, so the SFU needs Firefox's
  // 1280-wide layer for it (a smaller tile is served by the 640-wide one, and Firefox is told to stop
  // encoding the top one: checked at the end).
  const cr = await chromium(t, 'Crow', camera(960, 540), { width: 1920, height: 1080 });
  await join(ff, id, 'Fox');
  const s0 = await sample(ff.page);
  await join(cr, id, 'Crow');

  // Firefox's camera is 1280x720: rtc.js asks for three encodings, and Firefox reports all three.
  await eventually(async () => {
    const e = await sent(ff.page);
    assert.deepEqual(Object.keys(e).sort(), ['f', 'h', 'q'], `Firefox's encodings: ${JSON.stringify(e)}`);
  }, 15000, 250);
  await assertReceiving(cr.page, 'Fox', 'Chromium receives Firefox');
  await assertReceiving(ff.page, 'Crow', 'Firefox receives Chromium');
  // The page shows it: each one's tile plays the other's video, with its sound.
  await assertTilePlaying(ff.page, 'Crow', 'Firefox');
  await assertTilePlaying(cr.page, 'Fox', 'Chromium');
  console.log(`# Firefox sends ${JSON.stringify(await sent(ff.page))}`);

  // Firefox sends its top layer once its estimate allows it; until then it pads.
  await eventually(async () => {
    const e = await sent(ff.page);
    assert.ok(e.f.frames > 0 && e.f.width === 1280, `Firefox sends its top layer: ${JSON.stringify(e)}`);
  }, 90000, 500);
  const s1 = await sample(ff.page);
  console.log(`# Firefox's top layer seen on ${((s1.at - s0.at) / 1000).toFixed(1)} s after it joined; ` +
    `it sent meanwhile ${JSON.stringify(sendRates(s0, s1))}`);
  // Chromium decoded Firefox all along (the padding counted as the lowest layer's rate made the SFU
  // pause it) and gets the top layer now.
  const top = await assertReceiving(cr.page, 'Fox', 'Chromium receives Firefox\'s top layer', 1280);
  console.log(`# Firefox then sent ${JSON.stringify(sendRates(s1, await sample(ff.page)))}`);

  // Firefox gets Chromium's top layer, then its middle one when Chromium stops the top encoding.
  const foxTop = await assertReceiving(ff.page, 'Crow', 'Firefox receives Chromium\'s top layer', 960);
  await setTopEncoding(cr.page, false);
  const foxMid = await assertReceiving(ff.page, 'Crow', 'Firefox receives Chromium\'s middle layer', 480);
  assert.ok(top.fps > 0 && foxTop.fps > 0 && foxMid.fps > 0);

  // Chromium's window gets smaller: its tile of Firefox is ~620 wide, the 640-wide layer is enough,
  // and nobody receives Firefox's top layer any more: Firefox stops encoding it (video-layers).
  await cr.page.setViewportSize({ width: 1280, height: 800 });
  await assertReceiving(cr.page, 'Fox', 'Chromium receives Firefox\'s middle layer', 640);
  const f0 = await eventually(async () => {
    const a = (await sent(ff.page)).f.frames;
    await sleep(1000);
    const b = (await sent(ff.page)).f.frames;
    assert.equal(b, a, 'Firefox no longer encodes its top layer');
    return b;
  }, 15000, 250);
  console.log(`# Chromium's tile smaller → Firefox stopped its top encoding (${f0} frames encoded on it)`);

  await byTestId(ff.page, 'chat-toggle').click();
  await visible(ff.page, 'chat-panel');
  await byTestId(ff.page, 'chat-input').fill('Hello from Firefox');
  await byTestId(ff.page, 'chat-send').click();
  await byTestId(cr.page, 'chat-toggle').click();
  await eventually(async () => {
    assert.deepEqual(await byTestId(cr.page, 'chat-text').allTextContents(), ['Hello from Firefox']);
    assert.equal(await byTestId(cr.page, 'chat-sender').first().textContent(), 'Fox');
  });
  assertNoPageErrors(ff, cr);
});

test('Firefox publishing one stream (320x180 camera) with a small-camera Chromium: each decodes and hears the other', async (t) => {
  const id = await createMeeting(server.url);
  const ff = await firefox(t, 'Fern', camera(320, 180));
  const cr = await chromium(t, 'Cass', smallCamera);
  await join(ff, id, 'Fern');
  await join(cr, id, 'Cass');

  await eventually(async () => {
    const e = await sent(ff.page);
    assert.deepEqual(Object.keys(e), ['-'], `Firefox sends one stream, no rid: ${JSON.stringify(e)}`);
    assert.equal(e['-'].width, 320);
  }, 15000, 250);
  await assertReceiving(cr.page, 'Fern', 'Chromium receives one-stream Firefox', 320);
  await assertReceiving(ff.page, 'Cass', 'Firefox receives small-camera Chromium', 320);
  await assertTilePlaying(ff.page, 'Cass', 'Firefox');
  await assertTilePlaying(cr.page, 'Fern', 'Chromium');
  console.log(`# Firefox sends ${JSON.stringify(await sent(ff.page))}`);
  // The data channel (PROTOCOL.md "Data channel") works from Firefox too: its SCTP association over
  // the SFU, a raised hand each way (Firefox's in its participant panel too).
  const channel = (page) => page.evaluate(() => window.videomeet?.rtc?.dataChannel?.readyState ?? 'none');
  await eventually(async () => {
    assert.equal(await channel(ff.page), 'open', 'Firefox data channel');
    assert.equal(await channel(cr.page), 'open', 'Chromium data channel');
  }, 20000, 250);
  const hands = (page, who) => page.evaluate((w) => document.querySelectorAll(
    `[data-testid="tile"][data-username="${w}"] [data-testid="tile-hand"]`).length, who);
  await byTestId(ff.page, 'reactions-toggle').click();
  await byTestId(ff.page, 'hand-button').click();
  await eventually(async () => assert.equal(await hands(cr.page, 'Fern'), 1, 'Chromium sees Firefox\'s hand'), 10000, 200);
  await byTestId(cr.page, 'reactions-toggle').click();
  await byTestId(cr.page, 'hand-button').click();
  await eventually(async () => assert.equal(await hands(ff.page, 'Cass'), 1, 'Firefox sees Chromium\'s hand'), 10000, 200);
  await byTestId(ff.page, 'people-toggle').click();
  await visible(ff.page, 'people-panel');
  const rows = await ff.page.evaluate(() => [...document.querySelectorAll('[data-testid="people-item"]')]
    .map((e) => `${e.querySelector('[data-testid="people-name"]').textContent}:${e.dataset.hand}`));
  assert.deepEqual(rows, ['Fern (You):true', 'Cass:true']);
  await byTestId(ff.page, 'reactions-toggle').click();
  await byTestId(ff.page, 'hand-button').click();
  await eventually(async () => assert.equal(await hands(cr.page, 'Fern'), 0, 'Firefox lowered its hand'), 10000, 200);
  assertNoPageErrors(ff, cr);
});
