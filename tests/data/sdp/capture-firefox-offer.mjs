// Captures real Firefox (Debian's firefox-esr) SDP for the SDP negotiation tests in this folder.
// Run it inside a private network namespace so Firefox sends nothing anywhere:
//
//   unshare -n bash -c 'ip link set lo up; node tests/data/sdp/capture-firefox-offer.mjs'
//
// Writes firefox-offer-simulcast.sdp: the offer of VideoMeet's upstream connection as web/js/rtc.js
// makes it in Firefox (video then audio, the order of web/js/media.js's stream, each on a sendonly
// transceiver, the video one with three encodings q / h / f at 1/4, 1/2 and full size, lowest
// first, L1T3 asked for; max-bundle, so the second m-line is bundle-only with port 0), taken from
// pc.localDescription right after setLocalDescription, as the app sends it.
// Re-capturing changes random values (ufrag, fingerprint, ssrcs, msids) that
// tests/unit/test_sdp_negotiate.c checks: update its constants after a re-capture.
// Needs: node 20, tests/node_modules/puppeteer-core, /usr/bin/firefox-esr.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchFirefox } from '../../e2e/browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

async function main() {
  // getUserMedia needs a secure context: a blank page from http://127.0.0.1 (loopback is one).
  const srv = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>sdp</title>');
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const b = await launchFirefox({ name: 'sdp' });
  try {
    console.log(`firefox ${await b.browser.version()}`);
    await b.page.goto(`http://127.0.0.1:${srv.address().port}/`);
    const sdp = await b.page.evaluate(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720 } });
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
      for (const t of [...stream.getVideoTracks(), ...stream.getAudioTracks()]) {
        if (t.kind === 'video') {
          pc.addTransceiver(t, {
            direction: 'sendonly', streams: [stream],
            sendEncodings: [['q', 4], ['h', 2], ['f', 1]].map(([rid, scale]) =>
              ({ rid, scaleResolutionDownBy: scale, scalabilityMode: 'L1T3' })),
          });
        } else pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] });
      }
      await pc.setLocalDescription(await pc.createOffer());
      const out = pc.localDescription.sdp;
      pc.close();
      stream.getTracks().forEach((t) => t.stop());
      return out;
    });
    fs.writeFileSync(path.join(here, 'firefox-offer-simulcast.sdp'), sdp);
    console.log(`wrote firefox-offer-simulcast.sdp (${sdp.length} bytes)`);
    if (b.errors.length) throw new Error(b.errors.join('\n'));
  } finally {
    await b.close();
    srv.close();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
