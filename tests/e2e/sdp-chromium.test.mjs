// Proves sfu/sdp_negotiate.c's descriptions against a real Chromium (no server needed):
//  - the SFU's answer to a browser's upstream offer is accepted by the offering connection, with
//    the codecs we chose;
//  - the SFU's downstream offers (0, 1, 3 tracks) are accepted, with the right tracks and msids;
//  - a renegotiation sequence (a track removed and one added, then an m-line recycled) is accepted
//    on one connection, and Chromium's answers keep the shape of the committed captures.
//
//   cd tests && node --test e2e/sdp-chromium.test.mjs
//
// The descriptions come from tests/unit/test_sdp_negotiate.c, which checks byte for byte that it
// builds exactly the committed tests/data/sdp/generated/*.sdp (or writes fresh ones to $VM_SDP_OUT).
// This test reads $VM_SDP_OUT when set (run the unit test first with the same VM_SDP_OUT), else the
// committed generated/ folder. The upstream answer was built for the captured Chromium offer
// (tests/data/sdp/chromium-offer-sendonly.sdp); a live offer from this Chromium must have the same
// m-lines, payload types and extension ids, which the first test checks before applying it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, answerSequence } from '../data/sdp/capture-chromium-offer.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dataDir = path.join(here, '..', 'data', 'sdp');
const genDir = process.env.VM_SDP_OUT || path.join(dataDir, 'generated');
const gen = (f) => fs.readFileSync(path.join(genDir, f), 'utf8');
const data = (f) => fs.readFileSync(path.join(dataDir, f), 'utf8');

/** The lines that an answer built for a captured offer depends on: m=, rtpmap, fmtp, extmap, mid. */
function offerShape(sdp) {
  return sdp.split('\r\n').filter((l) => /^(m=|a=rtpmap:|a=fmtp:|a=extmap:|a=mid:)/.test(l))
    .map((l) => l.replace(/^m=(\w+) \d+/, 'm=$1 PORT'));
}

/** Per m-line: [mid, 'open' | 'rejected', direction, payload types]. */
function answerShape(sdp) {
  const sections = sdp.split(/\r\nm=/).slice(1);
  return sections.map((s) => {
    const [mline] = s.split('\r\n');
    const parts = mline.split(' ');
    const mid = (s.match(/\r\na=mid:(\S+)/) || [])[1];
    const dir = (s.match(/\r\na=(sendrecv|sendonly|recvonly|inactive)\r\n/) || [])[1];
    return [mid, parts[1] === '0' ? 'rejected' : 'open', dir, parts.slice(3).join(' ')];
  });
}

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

for (const [mode, answerFile, capture] of [
  ['sendonly', 'up-answer.sdp', 'chromium-offer-sendonly.sdp'],
  ['addTrack', 'up-answer-sendrecv.sdp', 'chromium-offer.sdp'],
]) {
  test(`Chromium accepts the SFU's answer to its upstream offer (${mode})`, async () => {
    const res = await browser.page.evaluate(async ({ m, answer }) => {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      const pc = new RTCPeerConnection();
      for (const t of stream.getTracks()) {
        if (m === 'sendonly') pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] });
        else pc.addTrack(t, stream);
      }
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const out = { offer: offer.sdp };
      try {
        await pc.setRemoteDescription({ type: 'answer', sdp: answer });
        out.transceivers = pc.getTransceivers().map((t) => ({
          mid: t.mid,
          direction: t.currentDirection,
          codecs: t.sender.getParameters().codecs.map((c) => `${c.mimeType}/${c.payloadType}`),
        }));
      } catch (e) {
        out.error = String(e);
      }
      pc.close();
      stream.getTracks().forEach((t) => t.stop());
      return out;
    }, { m: mode, answer: gen(answerFile) });
    assert.deepEqual(offerShape(res.offer), offerShape(data(capture)),
      'this Chromium offers other m-lines/payload types/extension ids than the capture: re-capture ' +
      '(tests/data/sdp/capture-chromium-offer.mjs) and refresh the generated answers');
    assert.equal(res.error, undefined);
    assert.deepEqual(res.transceivers, [
      { mid: '0', direction: 'sendonly', codecs: ['audio/opus/111'] },
      { mid: '1', direction: 'sendonly', codecs: ['video/VP8/96', 'video/rtx/97', 'video/H264/108', 'video/rtx/109'] },
    ]);
  });
}

test("Chromium accepts the SFU's downstream offers for 0, 1 and 3 tracks", async () => {
  const cases = [
    ['down-offer-0.sdp', []],
    ['down-offer-1.sdp', [['v0', 'video', 'recvonly', 'alice']]],
    ['down-offer-3.sdp', [['a0', 'audio', 'recvonly', 'alice'], ['v0', 'video', 'recvonly', 'alice'],
      ['a1', 'audio', 'recvonly', 'bob']]],
  ];
  for (const [file, want] of cases) {
    const res = await browser.page.evaluate(async (sdp) => {
      const pc = new RTCPeerConnection();
      const streams = {};
      pc.ontrack = (e) => { streams[e.transceiver.mid] = e.streams.map((s) => s.id).join(','); };
      try {
        await pc.setRemoteDescription({ type: 'offer', sdp });
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        return {
          answer: answer.sdp,
          transceivers: pc.getTransceivers().map((t) =>
            [t.mid, t.receiver.track.kind, t.currentDirection, streams[t.mid]]),
        };
      } catch (e) {
        return { error: String(e) };
      } finally {
        pc.close();
      }
    }, gen(file));
    assert.equal(res.error, undefined, `${file}: ${res.error}`);
    assert.deepEqual(res.transceivers, want, file);
    assert.deepEqual(answerShape(res.answer).map((s) => s.slice(0, 3)), want.map(([mid]) => [mid, 'open', 'recvonly']));
  }
});

test('Chromium follows the downstream renegotiation (remove, add, recycle an m-line)', async () => {
  const offers = ['down-offer-3.sdp', 'down-reneg-2.sdp', 'down-reneg-3.sdp'].map(gen);
  const answers = await answerSequence(browser.page, offers);
  assert.equal(answers.length, 3);
  assert.deepEqual(answerShape(answers[1]), [
    ['a0', 'open', 'recvonly', '111'],
    ['v0', 'open', 'recvonly', '96 97'],
    ['a1', 'rejected', 'inactive', '111'],
    ['v1', 'open', 'recvonly', '96 97'],
  ]);
  assert.deepEqual(answerShape(answers[2]), [
    ['a0', 'open', 'recvonly', '111'],
    ['v0', 'open', 'recvonly', '96 97'],
    ['a2', 'open', 'recvonly', '111'],
    ['v1', 'open', 'recvonly', '96 97'],
  ]);
  // The committed captures the unit test applies have the same shape as what Chromium says now.
  assert.deepEqual(answerShape(data('chromium-answer-to-sfu-offer.sdp')), answerShape(answers[0]));
  assert.deepEqual(answerShape(data('chromium-answer-reneg-2.sdp')), answerShape(answers[1]));
  assert.deepEqual(answerShape(data('chromium-answer-reneg-3.sdp')), answerShape(answers[2]));
});
