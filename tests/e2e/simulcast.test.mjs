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
import { launchBrowser, byTestId, camera, createMeeting as newMeeting, received as inbound, setTopEncoding } from './browser.mjs';
import { eventually, sleep } from '../lib/wait.mjs';
import { udpPolice } from '../lib/nft.mjs';

let server;

before(async () => {
  server = await startServer({ RTC_MIN_PORT: '46600', RTC_MAX_PORT: '46799' });
});

after(async () => {
  if (server) await server.stop();
});

async function person(t, name) {
  const b = await launchBrowser({ name, initScript: camera(960, 540), extraArgs: ['--autoplay-policy=no-user-gesture-required'] });
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

/** The publisher's encodings as its sending stats see them: rid → {width, bytes, active}. */
async function encodings(page) {
  return page.evaluate(async () => {
    const up = window.videomeet.rtc.up;
    const out = {};
    (await up.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video') {
        out[r.rid || '-'] = { width: r.frameWidth || 0, bytes: r.bytesSent, active: r.active !== false };
      }
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

/** Per remote participant (by name), what the page receives of their video. */
async function remoteVideo(page) {
  const r = await inbound(page);
  return Object.fromEntries(Object.entries(r).filter(([, k]) => k.video).map(([who, k]) => [who, k.video]));
}

/** The local UDP port of the page's receiving connection (its selected candidate pair). */
async function receivingPort(page) {
  return page.evaluate(async () => {
    const stats = await window.videomeet.rtc.down.getStats();
    let pair = null;
    stats.forEach((r) => {
      if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
    });
    return pair ? stats.get(pair.localCandidateId).port : 0;
  });
}

// The scenario is 720p cameras and an 800 kbit/s policer; three browsers encoding 720p
// simulcast do not fit on this machine's two cores next to a sanitizer build, so the cameras are
// 640x360 (two layers, the top one ~300 kbit/s here) and the policer is scaled with them: 400
// kbit/s, less than the two top layers and the audio need, more than the lower ones.
// The bar: over 20 s the policed receiver decodes every remote video at >= 12 fps (of 15)
// with <= 2 s of freezes in total each (inbound-rtp totalFreezesDuration), on a lower layer than
// the others get, while the others keep the top one; the top layers are back within 10 s of the
// policing going. Asserted: all of it, "a lower layer" as "at least one of the two lower in most
// of the 40 samples".
// Until session 13 the bar was met in about a third of the runs: most of the freeze time was
// ~3-s stalls, Chromium waiting for a keyframe after a retransmission carried the publisher's VP8
// picture id instead of the one the receiver had been given (fixed in dfd8275). Since then it was
// met in 20 of 21 runs here, the worse video at 0.6-2.1 s, and in 10 of 10 (0.25-1.61 s) once a
// switch no longer waited behind the backlog of the layer it ends (session 14). Since the server's
// sends leave in one io_uring submit (session 15, less CPU next to the three browsers): met in 28 of
// 28 runs, 13.6-16.6 fps, the worse video 0.26-1.95 s (mean 1.0, four runs over 1.8 s), then in
// session 16 (18 runs with a debug log) 0.30-2.49 s: too close to the tail to assert the 2 s. What
// was left came at the end of each probe cycle (below): the probe through the policer's bucket, both
// videos up, the bucket empty a few seconds later, 15-40 % lost for the half second until the loss
// window ended, both down. Since session 17 that loss is acted on as soon as the feedback shows it
// (bwe.h), and a video stepping down drops its top temporal layer until the lower keyframe comes
// (layer_select.h): 0.34-1.61 s (mean 1.0) in 8 runs, 20 of two close variants at most 1.45 s.
// nftables' byte policer has a bucket of one second of its rate: it lets a probe through, and a
// rate a little above it for seconds before it drops anything, so now and then the estimate goes
// above it and a loss burst follows seconds later. What mostly makes the bar: the
// estimate comes down to below what got through when loss persists (GCC alone held above the
// policer losing up to 10 %) and stays under it for 4 s whatever probes say (then a probe goes out
// at once), the SFU paces each receiver's video at 1.25 x its estimate (1.0 x while loss limits
// it), a smaller layer at the full frame rate is preferred to a larger one at fewer frames, and
// after a step down a step up waits (2 s, doubled up to 4 s when a step up is undone within 10 s),
// so a link that cannot keep a layer does not switch back and forth with a keyframe each time.
// Longer holds (up to 8 s each) kept more runs under the bar but once left the top layers away for
// over 10 s after the policing went (CI, session 6); test_bwe's test_policer_removed_at_any_moment
// checks the estimate's part of that bound (<= 6 s whatever the moment) in virtual time.
test('a policed receiver gets lower layers and keeps decoding while the others keep the top one; the top layer is back within 10 s once the policing goes', async (t) => {
  const id = await newMeeting(server.url);
  const names = ['Ada', 'Bo', 'Cy'];
  const people = {};
  for (const name of names) {
    people[name] = await launchBrowser({ name, initScript: camera(640, 360), extraArgs: ['--autoplay-policy=no-user-gesture-required'] });
    t.after(() => people[name].close());
  }
  for (const name of names) await join(people[name], id, name);
  // Everyone on the top layer of everyone first.
  for (const name of names) {
    await eventually(async () => {
      const r = await remoteVideo(people[name].page);
      for (const other of names.filter((n) => n !== name)) {
        assert.ok(r[other] && r[other].width === 640, `${name} gets ${other}'s top layer: ${JSON.stringify(r)}`);
      }
    }, 30000, 500);
  }
  const port = await receivingPort(people.Cy.page);
  assert.ok(port > 0);
  const unpolice = udpPolice(t, 'vmpolice', port, 50); // 50 kbytes/s = 400 kbit/s
  await sleep(5000); // the estimate finds the policer
  const before = await remoteVideo(people.Cy.page);
  const other0 = await remoteVideo(people.Ada.page);
  // The widths Cy decodes, sampled over the window: its estimate moves it between layers.
  const seen = { Ada: new Set(), Bo: new Set() };
  let bothTop = 0;
  for (let i = 0; i < 40; i++) {
    await sleep(500);
    const r = await remoteVideo(people.Cy.page);
    for (const who of ['Ada', 'Bo']) if (r[who]) seen[who].add(r[who].width);
    if (r.Ada?.width === 640 && r.Bo?.width === 640) bothTop++;
  }
  const after = await remoteVideo(people.Cy.page);
  const other1 = await remoteVideo(people.Ada.page);
  const fps = {}, freezes = {}, widths = {};
  for (const who of ['Ada', 'Bo']) {
    fps[who] = (after[who].frames - before[who].frames) / 20;
    freezes[who] = after[who].freezeSeconds - before[who].freezeSeconds;
    widths[who] = after[who].width;
  }
  const m = await (await fetch(`${server.url}/metrics`)).text();
  console.log(`# Cy policed to 400 kbit/s, 20 s: fps ${JSON.stringify(fps)}, freezes (s) ${JSON.stringify(freezes)}, ` +
    `widths now ${JSON.stringify(widths)}, seen ${JSON.stringify({ Ada: [...seen.Ada], Bo: [...seen.Bo] })}; Ada (not policed) gets Bo at ${other1.Bo.width} wide, ` +
    `${((other1.Bo.frames - other0.Bo.frames) / 20).toFixed(1)} fps; probe packets ${/videomeet_probe_packets_total (\d+)/.exec(m)?.[1]}`);
  // what went with the freezes (over the same 20 s): at Cy, per video, and at Ada (not policed) for
  // Bo's video: a freeze there is not the policer's (the machine's CPU, the encoder)
  const d = (a, b, k) => (a[k] || 0) - (b[k] || 0);
  const why = Object.fromEntries(['Ada', 'Bo'].map((who) => [who, Object.fromEntries(
    ['freezeCount', 'lost', 'nack', 'retx', 'pli', 'keyframes'].map((k) => [k, d(after[who], before[who], k)]))]));
  console.log(`# at Cy over the 20 s: ${JSON.stringify(why)}; at Ada (not policed), Bo's video: freezes ` +
    `${d(other1.Bo, other0.Bo, 'freezeCount')} (${d(other1.Bo, other0.Bo, 'freezeSeconds').toFixed(2)} s), ` +
    `keyframes ${d(other1.Bo, other0.Bo, 'keyframes')}`);
  // The bar: >= 12 fps and <= 2 s of freezes per video. What is left of the freezes comes
  // from the probe cycle (bench/README.md, sessions 16-17): the worse video 0.34-1.61 s in the runs
  // of session 17 (mean ~1), 13.7-16 fps.
  for (const who of ['Ada', 'Bo']) {
    assert.ok(fps[who] >= 12, `Cy decodes ${who} at >= 12 fps: ${fps[who]} fps`);
    assert.ok(freezes[who] <= 2, `Cy's video of ${who} froze ${freezes[who]} s in 20 s (at most 2)`);
  }
  // Most of the time at least one of Cy's videos is on a lower layer (both top layers do not fit
  // the policer; the estimate goes above it now and then, see above).
  console.log(`# Cy had both top layers in ${bothTop} of 40 samples`);
  assert.ok(bothTop <= 20, `Cy is mostly on lower layers than the others: both top in ${bothTop} of 40 samples, ` +
    `seen ${JSON.stringify({ Ada: [...seen.Ada], Bo: [...seen.Bo] })}`);
  // Ada, not policed, gets Bo's top layer (read until it is: one reading can catch a dip of Ada's
  // own estimate or of Bo's encoder on a loaded machine, CI rehearsal of 4 December)
  await eventually(async () => {
    const r = await remoteVideo(people.Ada.page);
    assert.equal(r.Bo?.width, 640, `Ada, not policed, still gets the top layer: ${JSON.stringify(r)}`);
  }, 10000, 250);
  // The policer goes: the top layers come back within 10 s.
  unpolice();
  const t0 = Date.now();
  const removedAt = new Date(t0).toISOString(); // to find the moment in a server log (VM_SERVER_LOG)
  await eventually(async () => {
    const r = await remoteVideo(people.Cy.page);
    assert.ok(r.Ada.width === 640 && r.Bo.width === 640, `Cy back on the top layers: ${JSON.stringify(r)}`);
  }, 10000, 250);
  console.log(`# policing removed (${removedAt}) → top layers back after ${Date.now() - t0} ms`);
  const errs = names.flatMap((n) => people[n].errors);
  assert.deepEqual(errs, [], errs.join('\n'));
});

/** What page receives of the one remote video: packets, frames, width (received() of browser.mjs). */
async function remoteOne(page) {
  const r = Object.values(await inbound(page))[0];
  return r && r.video ? r.video : { packets: 0, frames: 0, width: 0 };
}

test('the size a tile is shown at caps its layer; a hidden tile gets no video; the publisher turns off what nobody receives', async (t) => {
  const id = await newMeeting(server.url);
  const a = await person(t, 'Uma');
  const b = await person(t, 'Vic');
  await join(a, id, 'Uma');
  await join(b, id, 'Vic');
  await eventually(async () => {
    const r = await remoteOne(b.page);
    assert.ok(r.width === 960 && r.frames > 0, `Vic, with a large tile, decodes Uma's top layer: ${JSON.stringify(r)}`);
  }, 20000, 250);

  // A small window: Vic's tile of Uma is about 400 pixels wide, so the 480-wide layer is enough.
  await b.page.setViewportSize({ width: 440, height: 560 });
  const t0 = Date.now();
  const tile = await eventually(async () => {
    const r = await b.page.evaluate(() => {
      const el = [...document.querySelectorAll('[data-testid="tile"]')].find((e) => e.dataset.local !== 'true');
      const box = el.getBoundingClientRect();
      return { width: Math.round(box.width), height: Math.round(box.height) };
    });
    assert.ok(r.width <= 528 && r.height <= 297, `the tile is small enough for the middle layer: ${JSON.stringify(r)}`);
    return r;
  }, 5000, 100);
  const small = await eventually(async () => {
    const r = await remoteOne(b.page);
    assert.ok(r.width > 0 && r.width < 960, `a ${tile.width}x${tile.height} tile gets a lower layer: ${JSON.stringify(r)}`);
    return r;
  }, 10000, 200);
  console.log(`# tile ${tile.width}x${tile.height} → ${small.width} wide after ${Date.now() - t0} ms`);
  // Nobody receives Uma's top layer now: her browser stops encoding it (after the SFU's 3 s).
  await eventually(async () => {
    const e = await encodings(a.page);
    assert.ok(e.f && !e.f.active && e.h.active && e.q.active, `Uma's top encoding is off, the others on: ${JSON.stringify(e)}`);
  }, 10000, 250);
  // The flag is off at once; what the encoder and the browser's pacer already had still leaves (a
  // clean-clone run counted 3.4 kB more in the next second): the count stops, then stays put.
  const offAt = Date.now();
  const f0 = await eventually(async () => {
    const x0 = (await encodings(a.page)).f.bytes;
    await sleep(1000);
    const x1 = (await encodings(a.page)).f.bytes;
    assert.equal(x1, x0, `the top encoding still sends: ${x0} → ${x1} bytes`);
    return x1;
  }, 10000, 0);
  console.log(`# top encoding off → nothing sent on it after ${Date.now() - offAt} ms (1 s without any)`);
  await sleep(1000);
  assert.equal((await encodings(a.page)).f.bytes, f0, 'nothing is sent on the top encoding');

  // Large again: the top encoding comes back on, and Vic gets it.
  await b.page.setViewportSize({ width: 1280, height: 800 });
  await eventually(async () => {
    const r = await remoteOne(b.page);
    assert.ok(r.width === 960, `back on the top layer: ${JSON.stringify(r)} (Uma sends ${JSON.stringify(await encodings(a.page))})`);
  }, 15000, 250);

  // Vic hides Uma's video: no more video packets reach him (her audio does), and nobody receives
  // any of her encodings, so her browser turns them all off.
  await byTestId(b.page, 'tile-hide-video').click();
  await eventually(async () => {
    const text = await b.page.locator('[data-testid="tile"]:not([data-local]) [data-testid="tile-notice"]').textContent();
    assert.equal(text, 'Video hidden');
  }, 5000, 100);
  // What was on its way arrives (and the server acts on the hide within its next allocation; on a
  // loaded machine that took over a second): the count stops, then stays put for 2 s.
  const hiddenAt = Date.now();
  const h0 = await eventually(async () => {
    const x0 = Object.values(await inbound(b.page))[0];
    await sleep(1000);
    const x1 = Object.values(await inbound(b.page))[0];
    assert.equal(x1.video.packets, x0.video.packets, `video packets still arrive: ${JSON.stringify([x0.video, x1.video])}`);
    return x1;
  }, 10000, 0);
  console.log(`# tile hidden → no video packets after ${Date.now() - hiddenAt} ms (1 s without any)`);
  await sleep(2000);
  const h1 = Object.values(await inbound(b.page))[0];
  assert.equal(h1.video.packets, h0.video.packets, `a hidden tile gets no video packets: ${JSON.stringify([h0.video, h1.video])}`);
  assert.ok(h1.audio.packets > h0.audio.packets + 50, `audio continues: ${JSON.stringify([h0.audio, h1.audio])}`);
  await eventually(async () => {
    const e = await encodings(a.page);
    assert.ok(Object.values(e).every((x) => !x.active), `every encoding of Uma's is off: ${JSON.stringify(e)}`);
  }, 10000, 250);

  // Shown again: video resumes (at a keyframe the SFU asks for), at the top layer.
  await byTestId(b.page, 'tile-hide-video').click();
  const t1 = Date.now();
  await eventually(async () => {
    const r = await remoteOne(b.page);
    assert.ok(r.frames > h1.video.frames + 5 && r.width === 960, `video is back: ${JSON.stringify(r)}`);
  }, 15000, 200);
  console.log(`# tile shown again → frames after ${Date.now() - t1} ms`);
  const errs = [...a.errors, ...b.errors];
  assert.deepEqual(errs, [], errs.join('\n'));
});

test('a link that cannot carry even the lowest layer: the video is paused, the tile says so, audio goes on; it resumes', async (t) => {
  const id = await newMeeting(server.url);
  const names = ['Wes', 'Xia'];
  const people = {};
  for (const name of names) {
    people[name] = await launchBrowser({ name, initScript: camera(640, 360), extraArgs: ['--autoplay-policy=no-user-gesture-required'] });
    t.after(() => people[name].close());
  }
  for (const name of names) await join(people[name], id, name);
  const xia = people.Xia.page;
  await eventually(async () => {
    const r = await remoteOne(xia);
    assert.ok(r.frames > 0, `Xia decodes Wes: ${JSON.stringify(r)}`);
  }, 20000, 250);
  const notice = xia.locator('[data-testid="tile"]:not([data-local]) [data-testid="tile-notice"]');
  // 80 kbit/s: Wes's audio (~40 kbit/s) and not even his lowest layer at its lowest frame rate.
  const unpolice = udpPolice(t, 'vmpause', await receivingPort(xia), 10);
  const t0 = Date.now();
  await eventually(async () => {
    assert.equal(await notice.textContent(), 'Video paused: connection too slow');
    assert.equal(await notice.isVisible(), true);
  }, 20000, 250);
  console.log(`# policed to 80 kbit/s → video paused, tile notice after ${Date.now() - t0} ms`);
  const a0 = Object.values(await inbound(xia))[0];
  await sleep(2000);
  const a1 = Object.values(await inbound(xia))[0];
  assert.ok(a1.audio.packets > a0.audio.packets + 50, `audio goes on: ${JSON.stringify([a0.audio, a1.audio])}`);
  unpolice();
  const t1 = Date.now();
  await eventually(async () => {
    const r = await remoteOne(xia);
    assert.ok(r.frames > a1.video.frames + 5, `video resumes: ${JSON.stringify(r)}`);
    assert.equal(await notice.isVisible(), false);
  }, 30000, 250);
  console.log(`# policing removed → video again after ${Date.now() - t1} ms`);
  const errs = names.flatMap((n) => people[n].errors);
  assert.deepEqual(errs, [], errs.join('\n'));
});
