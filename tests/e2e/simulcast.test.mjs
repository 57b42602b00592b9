// Simulcast through the SFU with real Chromium: the web app publishes its camera as three VP8
// encodings (q, h, f: 1/4, 1/2 and full size, lowest first); the SFU learns each layer's SSRC from
// the rid header extension and forwards one layer to each receiver on one SSRC, switching layers at
// keyframes and renumbering the VP8 descriptors so the decoder sees one stream.
//
// What this shows today (bandwidth-driven choice comes with the estimator's wiring): the receiver
// gets the highest layer the publisher sends; when the publisher stops its top encoding the
// receiver moves to the next one down, at a keyframe the SFU asks for, and frames keep decoding
// on the same receiving track; when the top encoding comes back, so does the top layer.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { launchBrowser, byTestId, createMeeting as newMeeting } from './browser.mjs';
import { eventually, sleep } from '../lib/wait.mjs';

let server;

before(async () => {
  server = await startServer({ RTC_MIN_PORT: '46600', RTC_MAX_PORT: '46799' });
});

after(async () => {
  if (server) await server.stop();
});

/** Init script: a 960x540 camera at 15 fps (three simulcast layers: 240x135, 480x270, 960x540). */
function camera540() {
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) =>
    gum(c && c.video ? { ...c, video: { width: 960, height: 540, frameRate: 15 } } : c);
}

async function person(t, name) {
  const b = await launchBrowser({ name, initScript: camera540, extraArgs: ['--autoplay-policy=no-user-gesture-required'] });
  t.after(() => b.close());
  return b;
}

async function join(b, meetingId, name) {
  const { page } = b;
  await page.goto(`${server.url}/m/${meetingId}`);
  await byTestId(page, 'name-input').fill(name);
  await byTestId(page, 'join-now').click();
  await byTestId(page, 'meeting-page').waitFor({ state: 'visible' });
}

/** The publisher's encodings as its sending stats see them: rid → {width, bytes}. */
async function encodings(page) {
  return page.evaluate(async () => {
    const up = window.videomeet.rtc.up;
    const out = {};
    (await up.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video') out[r.rid || '-'] = { width: r.frameWidth || 0, bytes: r.bytesSent };
    });
    return out;
  });
}

/** What the receiver decodes of the (only) remote video: width, frames, freezes. */
async function received(page) {
  return page.evaluate(async () => {
    const down = window.videomeet.rtc.down;
    let out = null;
    if (!down) return null;
    (await down.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        out = { width: r.frameWidth || 0, frames: r.framesDecoded || 0, ssrc: r.ssrc, freezes: r.freezeCount || 0,
          freezeSeconds: r.totalFreezesDuration || 0, lost: r.packetsLost || 0, keyframes: r.keyFramesDecoded || 0 };
      }
    });
    return out;
  });
}

async function setTopEncoding(page, active) {
  await page.evaluate(async (on) => {
    const sender = window.videomeet.rtc.senders.video.sender;
    const p = sender.getParameters();
    p.encodings[p.encodings.length - 1].active = on;
    await sender.setParameters(p);
  }, active);
}

async function metric(name) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

test('a simulcast publisher: the receiver gets the top layer, follows it down and back up without a break', async (t) => {
  const id = await newMeeting(server.url);
  const a = await person(t, 'Sia');
  const b = await person(t, 'Tom');
  await join(a, id, 'Sia');
  await join(b, id, 'Tom');
  // Sia sends three encodings; the SFU forwards the highest one she sends.
  await eventually(async () => {
    const e = await encodings(a.page);
    assert.deepEqual(Object.keys(e).sort(), ['f', 'h', 'q'], JSON.stringify(e));
  }, 10000, 200);
  const top = await eventually(async () => {
    const r = await received(b.page);
    assert.ok(r && r.width === 960 && r.frames > 0, `Tom decodes Sia's top layer: ${JSON.stringify(r)} ` +
      `(Sia sends ${JSON.stringify(await encodings(a.page))})`);
    return r;
  }, 20000, 250);
  console.log(`# top layer: ${JSON.stringify(top)}; Sia's encodings ${JSON.stringify(await encodings(a.page))}`);
  const plis0 = await metric('videomeet_plis_sent_total');

  // Sia stops her top encoding: Tom moves to 480 wide, on the same track (same SSRC), still decoding.
  await setTopEncoding(a.page, false);
  const t0 = Date.now();
  const down = await eventually(async () => {
    const r = await received(b.page);
    assert.ok(r && r.width === 480, `Tom moved to the middle layer: ${JSON.stringify(r)}`);
    return r;
  }, 10000, 100);
  console.log(`# top encoding off → middle layer after ${Date.now() - t0} ms: ${JSON.stringify(down)}`);
  assert.equal(down.ssrc, top.ssrc, 'one SSRC towards the receiver whatever the layer');
  assert.ok((await metric('videomeet_plis_sent_total')) > plis0, 'the SFU asked for a keyframe of the new layer');
  await sleep(1500);
  const later = await received(b.page);
  assert.ok(later.frames > down.frames + 5, `frames keep coming: ${JSON.stringify(later)}`);

  // Back on: the top layer returns.
  await setTopEncoding(a.page, true);
  const t1 = Date.now();
  const up = await eventually(async () => {
    const r = await received(b.page);
    assert.ok(r && r.width === 960, `Tom is back on the top layer: ${JSON.stringify(r)}`);
    return r;
  }, 20000, 200);
  console.log(`# top encoding on → top layer after ${Date.now() - t1} ms: ${JSON.stringify(up)}`);
  assert.equal(up.ssrc, top.ssrc);
  await sleep(1500);
  const end = await received(b.page);
  assert.ok(end.frames > up.frames + 5, `frames keep coming: ${JSON.stringify(end)}`);
  // Across both switches the decoder never needed more than the keyframes the switches brought.
  console.log(`# over the test: freezes ${end.freezes} (${end.freezeSeconds.toFixed(2)} s), keyframes ${end.keyframes}, lost ${end.lost}`);
  const errs = [...a.errors, ...b.errors];
  assert.deepEqual(errs, [], errs.join('\n'));
});
