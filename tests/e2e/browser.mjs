// Shared helpers for the browser end-to-end tests: launch Debian's chromium (Playwright) or
// firefox-esr (puppeteer-core over WebDriver BiDi) with fake camera and microphone in a fresh
// profile, collect page errors, take screenshots.
//
// Each launchBrowser() / launchFirefox() is its own browser with its own profile dir (so own
// localStorage and permissions); close() closes it and removes the profile dir.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';

export const CHROMIUM_PATH = process.env.VM_CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = Object.freeze([
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-gpu',
  '--no-sandbox',
]);

export const DEFAULT_PERMISSIONS = Object.freeze(['camera', 'microphone', 'clipboard-read', 'clipboard-write']);

/**
 * Launches chromium in a fresh temporary profile and opens one page.
 * @param {object} [opts]
 * @param {{width: number, height: number}} [opts.viewport]  default 1280x800
 * @param {string|Function|Array<string|Function>} [opts.initScript]  run in every page before its scripts
 *   (e.g. to stub devices), in order
 * @param {string[]} [opts.permissions]
 * @param {string[]} [opts.extraArgs]
 * @param {string} [opts.name]  label used in logs and error messages
 * @param {number} [opts.uid]  run chromium as this user (and group) id, e.g. so that nftables can tell
 *   its packets from the others' (`meta skuid`); its profile and home are the profile dir
 * @returns {Promise<{context: import('playwright-core').BrowserContext, page: import('playwright-core').Page,
 *   errors: string[], name: string, close: () => Promise<void>, profileDir: string}>}
 *   errors: uncaught page exceptions and console errors, to assert on
 */
export async function launchBrowser(opts = {}) {
  const name = opts.name || 'browser';
  const profileDir = await fs.mkdtemp(path.join(os.tmpdir(), 'vm-chromium-'));
  let executablePath = CHROMIUM_PATH;
  let env;
  if (opts.uid !== undefined) {
    // A launcher next to the profile, outside it (chromium owns the profile): setpriv drops to the uid.
    executablePath = `${profileDir}.sh`;
    await fs.writeFile(executablePath, `#!/bin/sh\nexec setpriv --reuid=${opts.uid} --regid=${opts.uid} ` +
      `--clear-groups ${CHROMIUM_PATH} "$@"\n`, { mode: 0o755 });
    await fs.chown(profileDir, opts.uid, opts.uid);
    env = { ...process.env, HOME: profileDir, XDG_CONFIG_HOME: profileDir, XDG_CACHE_HOME: profileDir };
  }
  let context;
  try {
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath,
      env,
      headless: true,
      args: [...CHROMIUM_ARGS, ...(opts.extraArgs || [])],
      permissions: [...(opts.permissions || DEFAULT_PERMISSIONS)],
      viewport: opts.viewport || { width: 1280, height: 800 },
    });
  } catch (err) {
    await fs.rm(profileDir, { recursive: true, force: true });
    if (opts.uid !== undefined) await fs.rm(executablePath, { force: true });
    throw err;
  }
  context.setDefaultTimeout(15000);
  // A Content-Security-Policy violation (something of the page the server's policy refuses) is a
  // console error, so the suites that assert no errors fail on it (README "HTTP limits and headers").
  await context.addInitScript(() => document.addEventListener('securitypolicyviolation', (e) =>
    console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`)));
  for (const script of [].concat(opts.initScript || [])) await context.addInitScript(script);
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(`[${name}] page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`[${name}] console error: ${msg.text()}`);
  });
  let closed = false;
  async function close() {
    if (closed) return;
    closed = true;
    try {
      await context.close();
    } finally {
      await fs.rm(profileDir, { recursive: true, force: true });
      if (opts.uid !== undefined) await fs.rm(executablePath, { force: true });
    }
  }
  return { context, page, errors, name, close, profileDir };
}

export const FIREFOX_PATH = process.env.VM_FIREFOX || '/usr/bin/firefox-esr';

/**
 * Firefox preferences for a test browser in a loopback-only network namespace: without them Firefox
 * asks for camera permission, has no camera, or gathers no ICE candidate there.
 * The autoplay policy is left as Firefox ships it on purpose: the join button's click is the user
 * activation a real user gives, after which the tiles play with sound (firefox.test.mjs checks).
 */
export const FIREFOX_PREFS = Object.freeze({
  // Camera and microphone granted without a prompt, from fake devices (Firefox's own generated
  // video and tone; no real device is opened).
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  // Host candidates on loopback, the namespace's only interface (Firefox skips loopback otherwise).
  'media.peerconnection.ice.loopback': true,
});

/**
 * Launches firefox-esr (headless, WebDriver BiDi through puppeteer-core) in a fresh temporary
 * profile and opens one page. The page is a puppeteer Page: page.evaluate and
 * page.locator(selector).click()/.fill() work as in Playwright, waiting differs (see visible()).
 * @param {object} [opts]
 * @param {{width: number, height: number}} [opts.viewport]  default 1280x800
 * @param {string|Function|Array<string|Function>} [opts.initScript]  run in every page before its scripts
 * @param {Record<string, string|number|boolean>} [opts.prefs]  added to FIREFOX_PREFS
 * @param {string} [opts.name]  label used in logs and error messages
 * @returns {Promise<{browser: import('puppeteer-core').Browser, page: import('puppeteer-core').Page,
 *   errors: string[], name: string, close: () => Promise<void>, profileDir: string}>}
 */
export async function launchFirefox(opts = {}) {
  const name = opts.name || 'firefox';
  const profileDir = await fs.mkdtemp(path.join(os.tmpdir(), 'vm-firefox-'));
  let browser;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX_PATH,
      headless: true,
      userDataDir: profileDir,
      defaultViewport: opts.viewport || { width: 1280, height: 800 },
      extraPrefsFirefox: { ...FIREFOX_PREFS, ...(opts.prefs || {}) },
    });
  } catch (err) {
    await fs.rm(profileDir, { recursive: true, force: true });
    throw err;
  }
  let closed = false;
  async function close() {
    if (closed) return;
    closed = true;
    try {
      await browser.close();
    } finally {
      await fs.rm(profileDir, { recursive: true, force: true });
    }
  }
  const errors = [];
  let page;
  try {
    page = (await browser.pages())[0] || await browser.newPage();
    page.setDefaultTimeout(15000);
    for (const script of [].concat(opts.initScript || [])) await page.evaluateOnNewDocument(script);
    page.on('pageerror', (err) => errors.push(`[${name}] page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`[${name}] console error: ${msg.text()}`);
    });
  } catch (err) {
    await close();
    throw err;
  }
  return { browser, page, errors, name, close, profileDir };
}

/**
 * Waits until the element with data-testid="id" is visible, in a Playwright or a puppeteer page
 * (their locators wait differently).
 */
export async function visible(page, id) {
  const loc = byTestId(page, id);
  if (typeof loc.waitFor === 'function') await loc.waitFor({ state: 'visible' });
  else await loc.setVisibility('visible').wait();
}

/**
 * A fresh directory for screenshots; its path is printed so a person can look at them.
 * @param {string} label
 */
export async function screenshotDir(label) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `vm-shots-${label}-`));
  console.log(`# screenshots: ${dir}`);
  return dir;
}

/**
 * Saves a screenshot of the page's viewport as <dir>/<file>.png and returns its path.
 * @param {import('playwright-core').Page} page
 * @param {string} dir
 * @param {string} file
 */
export async function screenshot(page, dir, file) {
  const p = path.join(dir, `${file}.png`);
  await page.screenshot({ path: p, animations: 'disabled', caret: 'initial' });
  return p;
}

/** The element(s) with data-testid="id" (a Playwright or a puppeteer locator, as the page is). */
export const byTestId = (page, id) => page.locator(`[data-testid="${id}"]`);

/** Opens the meeting's link, fills the name on the setup page and joins; waits for the meeting page. */
export async function joinMeeting(page, baseUrl, meetingId, name) {
  await page.goto(`${baseUrl}/m/${meetingId}`);
  await byTestId(page, 'name-input').fill(name);
  await byTestId(page, 'join-now').click();
  await byTestId(page, 'meeting-page').waitFor({ state: 'visible' });
}

/**
 * Init script: asks the fake camera for 320x240 at 15 fps, so that several browsers encoding and
 * decoding, and a sanitizer build of the server, fit on two cores.
 */
export function smallCamera() {
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) =>
    gum(c && c.video ? { ...c, video: { ...(typeof c.video === 'object' ? c.video : {}), width: 320, height: 240, frameRate: 15 } } : c);
}

/** One browser with a small camera per name, launched one after the other; each closes when test `t` ends. */
export async function launchPeople(t, ...names) {
  const people = [];
  for (const name of names) {
    const b = await launchBrowser({ name, initScript: smallCamera });
    t.after(() => b.close());
    people.push(b);
  }
  return people;
}

/**
 * Init script (a string, for Playwright and puppeteer alike): the fake camera at width x height and
 * 15 fps, whatever the page asks for (rtc.js then chooses its simulcast layers from that size).
 * @param {number} width @param {number} height
 */
export function camera(width, height) {
  const install = (w, h) => {
    if (!navigator.mediaDevices) return; // a page that is no secure context (about:blank)
    const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = (c) =>
      gum(c && c.video ? { ...c, video: { width: w, height: h, frameRate: 15 } } : c);
  };
  return `(${install})(${Number(width)}, ${Number(height)});`;
}

/**
 * Turns the top simulcast encoding of the page's camera on or off, as a browser does when its
 * uplink cannot carry it (Playwright and puppeteer pages alike).
 * @param {any} page @param {boolean} active
 */
export async function setTopEncoding(page, active) {
  await page.evaluate(async (on) => {
    const sender = window.videomeet.rtc.senders.video.sender;
    const p = sender.getParameters();
    p.encodings[p.encodings.length - 1].active = on;
    await sender.setParameters(p);
  }, active);
}

/** A new meeting id from the server at baseUrl. */
export async function createMeeting(baseUrl) {
  const res = await fetch(`${baseUrl}/api/create-meeting`);
  return (await res.json()).meetingId;
}

/** Init script: records every RTCPeerConnection the page makes in window.__pcs. */
export function spyOnPeerConnections() {
  const Orig = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Orig {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
    }
  };
}

/**
 * The page's peer connections that send a track (window.__pcs, recorded by spyOnPeerConnections),
 * with their state and selected candidate pair.
 */
export async function sendingConnections(page) {
  return page.evaluate(async () => {
    const out = [];
    for (const pc of window.__pcs) {
      if (pc.connectionState === 'closed' || !pc.getSenders().some((s) => s.track)) continue;
      const stats = await pc.getStats();
      let pair = null;
      stats.forEach((r) => {
        if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
      });
      const local = pair && stats.get(pair.localCandidateId);
      const remote = pair && stats.get(pair.remoteCandidateId);
      out.push({
        state: pc.connectionState,
        local: local && { address: local.address, port: local.port },
        remote: remote && { address: remote.address, port: remote.port },
      });
    }
    return out;
  });
}

/**
 * What the page receives from each remote participant, by username and kind, from its receiving
 * connection's inbound-rtp stats: {video: {packets, frames, nack, retx, lost, width,
 * freezeSeconds, freezeCount, pli, keyframes}, audio: {...the same}}.
 */
export async function received(page) {
  return page.evaluate(async () => {
    const app = window.videomeet;
    const rtc = app && app.rtc;
    const out = {};
    if (!rtc || !rtc.down) return out;
    for (const [userId, stream] of rtc.streams) {
      const who = app.participants.get(userId)?.username || userId;
      out[who] = {};
      for (const track of stream.getTracks()) {
        const rx = rtc.down.getReceivers().find((r) => r.track === track);
        if (!rx) continue;
        (await rx.getStats()).forEach((r) => {
          if (r.type !== 'inbound-rtp') return;
          out[who][r.kind] = {
            packets: r.packetsReceived || 0, frames: r.framesDecoded || 0, nack: r.nackCount || 0,
            retx: r.retransmittedPacketsReceived || 0, lost: r.packetsLost || 0,
            width: r.frameWidth || 0, freezeSeconds: r.totalFreezesDuration || 0,
            freezeCount: r.freezeCount || 0, pli: r.pliCount || 0, keyframes: r.keyFramesDecoded || 0,
          };
        });
      }
    }
    return out;
  });
}
