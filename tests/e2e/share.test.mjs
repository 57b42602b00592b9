// Screen sharing through the SFU with real Chromium (PROTOCOL.md "Screen sharing"): one person
// shares (getDisplayMedia; Debian's Chromium with --use-fake-ui-for-media-stream and
// --use-fake-device-for-media-stream, the flags every browser test has, answers it with its fake
// 1280x720 screen, no extra flag needed), the screen goes up as a second video m-line of the same
// "up" connection and comes down to each of the others as an added m-line of their "down" one.
// The others decode it at its size, show it large with the sharer's name, and it ends cleanly on
// every side, from the share button or from the browser's own "stop" (the track ending), the
// cameras flowing throughout. Two sharers: the latest is shown large, the other one a click away.
//
//   cd tests && VM_SERVER_BIN=../build-test/videomeet node --test e2e/share.test.mjs
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import {
  launchBrowser, launchFirefox, byTestId, visible, camera, createMeeting, received as inbound, smallCamera, screenshotDir, screenshot,
} from './browser.mjs';
import { eventually } from '../lib/wait.mjs';

let server;
let shots = '';

before(async () => {
  server = await startServer({ RTC_MIN_PORT: '46800', RTC_MAX_PORT: '46999' });
  shots = await screenshotDir('share');
});

after(async () => {
  if (server) await server.stop();
});

async function person(t, name) {
  const b = await launchBrowser({ name, initScript: smallCamera, extraArgs: ['--autoplay-policy=no-user-gesture-required'] });
  t.after(() => b.close());
  return b;
}

/** Joins from the meeting's link (a Playwright or a puppeteer page). */
async function join(b, meetingId, name) {
  const { page } = b;
  await page.goto(`${server.url}/m/${meetingId}`);
  await visible(page, 'setup-page');
  await byTestId(page, 'name-input').fill(name);
  await byTestId(page, 'join-now').click();
  await visible(page, 'meeting-page');
}

/**
 * The screens the page receives (its "down" receivers on the mids the SFU marked as screens): one
 * {userId, mid, active, frames, width, height, packets, nack} each.
 */
async function screens(page) {
  return page.evaluate(async () => {
    const rtc = window.videomeet.rtc;
    const out = [];
    if (!rtc || !rtc.down) return out;
    for (const tr of rtc.down.getTransceivers()) {
      const userId = tr.mid && rtc.screenMids.get(tr.mid);
      if (!userId) continue;
      const s = { userId, mid: tr.mid, active: tr.currentDirection === 'recvonly', frames: 0, width: 0, height: 0, packets: 0, nack: 0 };
      (await tr.receiver.getStats()).forEach((r) => {
        if (r.type !== 'inbound-rtp') return;
        Object.assign(s, { frames: r.framesDecoded || 0, width: r.frameWidth || 0, height: r.frameHeight || 0,
          packets: r.packetsReceived || 0, nack: r.nackCount || 0 });
      });
      out.push(s);
    }
    return out;
  });
}

/** The presentation area as shown: hidden or not, whose, the name line, its video and its size. */
async function presentation(page) {
  return page.evaluate(() => {
    const area = document.querySelector('[data-testid="presentation"]');
    const video = document.querySelector('[data-testid="presentation-video"]');
    const r = video.getBoundingClientRect();
    const tiles = [...document.querySelectorAll('[data-testid="tile"]')].map((t) => t.getBoundingClientRect().width);
    return {
      shown: !area.hidden, userId: area.dataset.userId || '',
      name: document.querySelector('[data-testid="presentation-name"]').textContent,
      others: [...document.querySelectorAll('[data-testid="presentation-other"]')].map((b) => b.textContent),
      playing: video.readyState >= 2 && !video.paused && video.videoWidth > 0,
      videoWidth: video.videoWidth, videoHeight: video.videoHeight,
      width: r.width, height: r.height, largestTile: Math.max(0, ...tiles),
      sharing: document.querySelector('[data-testid="share-button"]').dataset.sharing === 'true',
    };
  });
}

/** Frames decoded of each other participant's camera, by name. */
async function cameraFrames(page) {
  const got = await inbound(page);
  return Object.fromEntries(Object.entries(got).map(([who, k]) => [who, k.video ? k.video.frames : 0]));
}

/** Every camera the page receives decodes new frames (compared with `before`). */
async function camerasFlow(page, names) {
  const before = await cameraFrames(page);
  await eventually(async () => {
    const now = await cameraFrames(page);
    for (const n of names) assert.ok((now[n] || 0) > (before[n] || 0) + 5, `${n}'s camera on ${JSON.stringify(now)}`);
  }, 15000);
}

test('screen sharing: decoded by the others at its size, shown large with the name, stopped cleanly by button and by the browser', async (t) => {
  const id = await createMeeting(server.url);
  const a = await person(t, 'Ada');
  const b = await person(t, 'Ben');
  const c = await person(t, 'Cy');
  for (const [p, n] of [[a, 'Ada'], [b, 'Ben'], [c, 'Cy']]) await join(p, id, n);
  await camerasFlow(b.page, ['Ada', 'Cy']);
  await camerasFlow(c.page, ['Ada', 'Ben']);
  assert.equal((await presentation(b.page)).shown, false);

  // Ada shares.
  assert.equal(await byTestId(a.page, 'share-button').isVisible(), true);
  const t0 = Date.now();
  await byTestId(a.page, 'share-button').click();
  const size = await a.page.evaluate(async () => {
    for (let i = 0; i < 50 && !window.videomeet.sharing.share.track; i++) await new Promise((r) => setTimeout(r, 100));
    const s = window.videomeet.sharing.share.track.getSettings();
    return { width: s.width, height: s.height };
  });
  assert.ok(size.width >= 640 && size.height >= 360, `the fake screen: ${JSON.stringify(size)}`);
  const adaId = await a.page.evaluate(() => window.videomeet.userId);
  for (const p of [b.page, c.page]) {
    await eventually(async () => {
      const s = await screens(p);
      assert.equal(s.length, 1, JSON.stringify(s));
      assert.equal(s[0].userId, adaId);
      assert.ok(s[0].frames > 10, `screen frames ${JSON.stringify(s)}`);
      // Full width (no downscaled copy). The height is not compared: the fake capturer reported
      // 1280x800 in its settings once and sent 1280x720 frames (full suite, loaded machine).
      assert.equal(s[0].width, size.width);
      assert.ok(s[0].height >= 360 && s[0].height <= size.height, JSON.stringify({ s, size }));
    }, 20000);
    await eventually(async () => {
      const v = await presentation(p);
      assert.ok(v.shown && v.playing, JSON.stringify(v));
      assert.equal(v.userId, adaId);
      assert.equal(v.name, 'Ada is presenting');
      assert.equal(v.videoWidth, size.width);
      assert.ok(v.width > 2 * v.largestTile, `large: ${JSON.stringify(v)}`);
    });
  }
  const decodedMs = Date.now() - t0;
  const own = await presentation(a.page);
  assert.ok(own.shown && own.sharing, JSON.stringify(own));
  assert.equal(own.name, 'You are presenting');
  assert.equal(await byTestId(a.page, 'presentation-stop').isVisible(), true);
  await camerasFlow(b.page, ['Ada', 'Cy']); // the cameras go on beside the screen
  await screenshot(b.page, shots, 'ben-sees-ada-presenting');
  const firstMid = (await screens(b.page))[0].mid;
  console.log(`# screen decoded by both others ${decodedMs} ms after the click; ${JSON.stringify(await screens(b.page))}`);

  // Ada stops from the button: gone everywhere, cameras still flowing.
  await byTestId(a.page, 'share-button').click();
  for (const p of [a.page, b.page, c.page]) {
    await eventually(async () => {
      const v = await presentation(p);
      assert.equal(v.shown, false, JSON.stringify(v));
      assert.equal(v.sharing, false);
    });
  }
  for (const p of [b.page, c.page]) {
    await eventually(async () => assert.deepEqual((await screens(p)).filter((s) => s.active), []));
  }
  assert.equal(await a.page.evaluate(() => window.videomeet.rtc.screen), null);
  await camerasFlow(b.page, ['Ada', 'Cy']);
  await camerasFlow(c.page, ['Ada', 'Ben']);

  // Ada shares again (a new m-line, or the old one recycled) and ends it as the browser's own
  // "Stop sharing" does: the capture track ends.
  await byTestId(a.page, 'share-button').click();
  await eventually(async () => {
    const v = await presentation(c.page);
    assert.ok(v.shown && v.playing && v.name === 'Ada is presenting', JSON.stringify({ v, s: await screens(c.page) }));
    const s = (await screens(c.page)).filter((x) => x.active);
    assert.equal(s.length, 1);
    assert.ok(s[0].frames > 5);
  }, 30000);
  console.log(`# second share on mid ${(await screens(c.page)).find((s) => s.active).mid} (first ${firstMid})`);
  await a.page.evaluate(() => {
    const track = window.videomeet.sharing.share.track;
    track.stop();
    track.dispatchEvent(new Event('ended')); // what the browser fires when its own control ends the capture
  });
  for (const p of [a.page, b.page, c.page]) {
    await eventually(async () => assert.equal((await presentation(p)).shown, false));
  }
  for (const p of [b.page, c.page]) {
    await eventually(async () => assert.deepEqual((await screens(p)).filter((s) => s.active), []));
  }
  await camerasFlow(c.page, ['Ada', 'Ben']);
  for (const p of [a, b, c]) assert.deepEqual(p.errors, []);
});

test('two sharers: the latest is shown large, the other is listed and can be picked; one stopping leaves the other', async (t) => {
  const id = await createMeeting(server.url);
  const a = await person(t, 'Ada');
  const b = await person(t, 'Ben');
  const c = await person(t, 'Cy');
  for (const [p, n] of [[a, 'Ada'], [b, 'Ben'], [c, 'Cy']]) await join(p, id, n);
  await camerasFlow(c.page, ['Ada', 'Ben']);
  const ids = {};
  for (const [p, n] of [[a, 'Ada'], [b, 'Ben']]) ids[n] = await p.page.evaluate(() => window.videomeet.userId);

  await byTestId(a.page, 'share-button').click();
  await eventually(async () => assert.equal((await presentation(c.page)).userId, ids.Ada), 20000);
  await byTestId(b.page, 'share-button').click();
  await eventually(async () => {
    const v = await presentation(c.page);
    assert.equal(v.userId, ids.Ben, JSON.stringify(v));
    assert.equal(v.name, 'Ben is presenting');
    assert.ok(v.playing);
    assert.deepEqual(v.others, ['Ada']);
    const s = (await screens(c.page)).filter((x) => x.active);
    assert.equal(s.length, 2);
    assert.ok(s.every((x) => x.frames > 5), JSON.stringify(s));
  }, 20000);
  // Ada sees Ben's (the latest) large, her own listed as "You"
  await eventually(async () => {
    const v = await presentation(a.page);
    assert.equal(v.userId, ids.Ben, JSON.stringify(v));
    assert.deepEqual(v.others, ['You']);
  });
  await screenshot(c.page, shots, 'cy-sees-two-presenters');

  // Cy picks Ada's
  await c.page.locator('[data-testid="presentation-other"]', { hasText: 'Ada' }).click();
  await eventually(async () => {
    const v = await presentation(c.page);
    assert.equal(v.userId, ids.Ada);
    assert.equal(v.name, 'Ada is presenting');
    assert.deepEqual(v.others, ['Ben']);
    assert.ok(v.playing);
  });
  // Ada stops: Ben's is shown again
  await byTestId(a.page, 'presentation-stop').click();
  await eventually(async () => {
    const v = await presentation(c.page);
    assert.equal(v.userId, ids.Ben, JSON.stringify(v));
    assert.deepEqual(v.others, []);
    assert.equal((await screens(c.page)).filter((x) => x.active).length, 1);
  });
  // Ben leaves while sharing: nothing is left on the stage
  await byTestId(b.page, 'leave-button').click();
  await eventually(async () => assert.equal((await presentation(c.page)).shown, false));
  await camerasFlow(c.page, ['Ada']);
  for (const p of [a, b, c]) assert.deepEqual(p.errors, []);
});

test("Firefox receives a Chromium's screen: decoded at its size, shown large, gone when it stops", async (t) => {
  const id = await createMeeting(server.url);
  const a = await person(t, 'Ada');
  const f = await launchFirefox({ name: 'Fox', initScript: camera(320, 240) });
  t.after(() => f.close());
  await join(a, id, 'Ada');
  await join(f, id, 'Fox');
  await camerasFlow(f.page, ['Ada']);
  await byTestId(a.page, 'share-button').click();
  const adaId = await a.page.evaluate(() => window.videomeet.userId);
  await eventually(async () => {
    const s = (await screens(f.page)).filter((x) => x.active);
    assert.equal(s.length, 1, JSON.stringify(s));
    assert.equal(s[0].userId, adaId);
    assert.ok(s[0].frames > 10, JSON.stringify(s));
    assert.equal(s[0].width, 1280);
    const v = await presentation(f.page);
    assert.ok(v.shown && v.playing && v.name === 'Ada is presenting', JSON.stringify(v));
  }, 30000);
  await camerasFlow(f.page, ['Ada']);
  await byTestId(a.page, 'share-button').click();
  await eventually(async () => {
    assert.equal((await presentation(f.page)).shown, false);
    assert.deepEqual((await screens(f.page)).filter((x) => x.active), []);
  });
  await camerasFlow(f.page, ['Ada']);
  assert.deepEqual([...a.errors, ...f.errors], []);
});
