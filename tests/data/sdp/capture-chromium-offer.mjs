// Captures real Chromium SDP for the SDP parser/negotiation fixtures in this folder.
// Run it inside a private network namespace so Chromium sends nothing anywhere:
//
//   unshare -n bash -c 'ip link set lo up; node tests/data/sdp/capture-chromium-offer.mjs offers'
//   unshare -n bash -c 'ip link set lo up; node tests/data/sdp/capture-chromium-offer.mjs answers DIR'
//
// "offers" (the default) writes Chromium's offers for one getUserMedia audio + video track:
//   chromium-offer.sdp           tracks added with pc.addTrack (sendrecv m-lines);
//   chromium-offer-sendonly.sdp  sendonly transceivers, what VideoMeet's upstream sends;
//   chromium-offer-gathered.sdp  the local description after ICE gathering (a=candidate lines;
//                                needs --allow-loopback-in-peer-connection, loopback is the
//                                namespace's only link).
// "answers DIR" feeds the SFU's downstream offers that tests/unit/test_sdp_negotiate.c wrote to
// DIR (VM_SDP_OUT; the committed copies are in generated/) into Chromium and writes its answers:
//   chromium-answer-to-sfu-offer.sdp  answer to down-offer-3.sdp (three tracks);
//   chromium-answer-reneg-2.sdp, chromium-answer-reneg-3.sdp  answers to down-reneg-2.sdp and
//                                down-reneg-3.sdp, applied in order on the same connection.
// "simulcast" writes chromium-offer-simulcast.sdp: a sendonly audio transceiver and a sendonly video
// transceiver with three encodings, rids q / h / f at 1/4, 1/2 and full resolution, lowest first,
// as the web app publishes (RFC 8853 a=simulcast, RFC 8851 a=rid).
// Re-capturing the offers changes random values (ufrag, fingerprint, ssrcs) that
// tests/unit/test_sdp.c checks: update its constants after a re-capture.
// Needs: node 20, tests/node_modules/playwright-core, /usr/bin/chromium.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'package.json'));
const { chromium } = require('playwright-core');

export const CHROMIUM_ARGS = [
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-gpu', '--no-sandbox',
  // Lets the 'gathered' capture get host candidates on the namespace's loopback (the only link).
  '--allow-loopback-in-peer-connection',
];

/** Launches headless Chromium with a fresh temporary profile; returns { ctx, page, close() }. */
export async function launchChromium() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vm-sdp-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const page = ctx.pages()[0] || (await ctx.newPage());
  // getUserMedia needs a secure context: serve a blank page as http://localhost/ from Playwright
  // itself (no server, no socket; about:blank and data: pages are not secure contexts).
  await page.route('http://localhost/**', (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>sdp</title>' }));
  await page.goto('http://localhost/');
  const close = async () => {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { ctx, page, close };
}

/**
 * Chromium's offer for one audio + one video getUserMedia track (sdp text, CRLF).
 * mode 'addTrack': pc.addTrack (sendrecv m-lines, what the brief's capture asks for);
 * mode 'sendonly': addTransceiver(track, {direction: 'sendonly'}) as VideoMeet's upstream does;
 * mode 'gathered': addTrack, setLocalDescription, wait for ICE gathering to complete, then
 * pc.localDescription (with whatever a=candidate lines the namespace's loopback gives);
 * mode 'simulcast': sendonly transceivers, the video one with three encodings (q, h, f).
 */
export async function captureOffer(page, mode = 'addTrack') {
  return page.evaluate(async (m) => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    const pc = new RTCPeerConnection();
    for (const t of stream.getTracks()) {
      if (m === 'simulcast' && t.kind === 'video') {
        pc.addTransceiver(t, {
          direction: 'sendonly', streams: [stream],
          sendEncodings: [{ rid: 'q', scaleResolutionDownBy: 4 }, { rid: 'h', scaleResolutionDownBy: 2 }, { rid: 'f' }],
        });
      } else if (m === 'sendonly' || m === 'simulcast') pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] });
      else pc.addTrack(t, stream);
    }
    const offer = await pc.createOffer();
    let sdp = offer.sdp;
    if (m === 'gathered') {
      await pc.setLocalDescription(offer);
      await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        const timer = setTimeout(resolve, 5000);
        pc.onicegatheringstatechange = () => {
          if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
        };
      });
      sdp = pc.localDescription.sdp;
    }
    pc.close();
    stream.getTracks().forEach((t) => t.stop());
    return sdp;
  }, mode);
}

/** Chromium's answers to a sequence of remote offers applied on one connection (throws when
 * Chromium rejects one). */
export async function answerSequence(page, offers) {
  return page.evaluate(async (list) => {
    const pc = new RTCPeerConnection();
    const answers = [];
    try {
      for (const sdp of list) {
        await pc.setRemoteDescription({ type: 'offer', sdp });
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        answers.push(answer.sdp);
      }
    } finally {
      pc.close();
    }
    return answers;
  }, offers);
}

async function captureOffers(page) {
  const files = { addTrack: 'chromium-offer.sdp', sendonly: 'chromium-offer-sendonly.sdp',
    gathered: 'chromium-offer-gathered.sdp' };
  for (const [mode, file] of Object.entries(files)) {
    const sdp = await captureOffer(page, mode);
    fs.writeFileSync(path.join(here, file), sdp);
    console.log(`wrote ${file} (${sdp.length} bytes)`);
  }
}

async function captureAnswers(page, dir) {
  const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8');
  const write = (f, sdp) => {
    fs.writeFileSync(path.join(here, f), sdp);
    console.log(`wrote ${f} (${sdp.length} bytes)`);
  };
  const [answer] = await answerSequence(page, [read('down-offer-3.sdp')]);
  write('chromium-answer-to-sfu-offer.sdp', answer);
  // The renegotiation offers exist only once the previous answers do (the test applies them
  // before it builds the next offer): capture as far as the offers go.
  const seq = ['down-offer-3.sdp', 'down-reneg-2.sdp', 'down-reneg-3.sdp']
    .filter((f) => fs.existsSync(path.join(dir, f)));
  const reneg = await answerSequence(page, seq.map(read));
  if (reneg[1]) write('chromium-answer-reneg-2.sdp', reneg[1]);
  if (reneg[2]) write('chromium-answer-reneg-3.sdp', reneg[2]);
}

async function main() {
  const [mode = 'offers', dir] = process.argv.slice(2);
  if (mode !== 'offers' && mode !== 'simulcast' && !(mode === 'answers' && dir)) {
    console.error('usage: capture-chromium-offer.mjs [offers | simulcast | answers DIR]');
    process.exit(2);
  }
  const { page, close } = await launchChromium();
  try {
    if (mode === 'offers') await captureOffers(page);
    else if (mode === 'simulcast') {
      const sdp = await captureOffer(page, 'simulcast');
      fs.writeFileSync(path.join(here, 'chromium-offer-simulcast.sdp'), sdp);
      console.log(`wrote chromium-offer-simulcast.sdp (${sdp.length} bytes)`);
    } else await captureAnswers(page, dir);
  } finally {
    await close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
