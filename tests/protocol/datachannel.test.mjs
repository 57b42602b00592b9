// The data channel against bad input, under the sanitizer build: two meetings of three
// videomeet-bench participants each open their data channel as a browser does (SCTP over their
// DTLS, DCEP OPEN for "vm") and send a message every 500 ms; one participant of the first meeting
// also sends, once, what a broken or hostile browser might (bench/dc.c): 23 garbage or truncated
// SCTP packets, malformed DCEP (short, lengths past the end, trailing bytes, unknown type, a NUL in
// the label, an ACK, an OPEN of the SFU's parity, an OPEN of an open stream), more channels than
// allowed, messages on a stream with no channel, binary, empty and too-large messages, and a flood
// of 100 over the rate limit. Shown: nobody's call breaks (every session stays connected and gets
// every track with almost no loss, in both meetings), the relay goes on for everyone (the abuser
// included), no message crosses meetings, the flood is cut to a burst, the server counts what it
// dropped and stops cleanly with no sanitizer report.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../lib/server.mjs';
import { bench } from '../lib/bench.mjs';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vm-dc-'));
const RATE_BURST = 20; // sfu/dcep.h DC_RATE_BURST
let server;

before(async () => {
  server = await startServer({ RTC_MIN_PORT: '46600', RTC_MAX_PORT: '46799' });
});

after(async () => {
  if (server) await server.stop(); // fails on a sanitizer report or a bad exit
  fs.rmSync(tmp, { recursive: true, force: true });
});


async function metric(name) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}

test('malformed SCTP and DCEP, too many channels, floods: dropped, and both meetings go on', async () => {
  const out = path.join(tmp, 'dc.json');
  const r = await bench(['--url', server.url, '--server-pid', String(server.proc.pid), '--json', out, '--quiet',
    '--meeting', '3', '--rooms', '2', '--duration', '6', '--join-rate', '10', '--settle', '1',
    '--bitrate', '300', '--fps', '15', '--seed', '7', '--dc-abuse'], 120000);
  assert.equal(r.code, 0, `bench exit code ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /AddressSanitizer|LeakSanitizer|runtime error:/, r.stderr);
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  const t = j.totals;
  // Everyone's call: connected, every track of the two others received with almost no loss.
  assert.deepEqual({ planned: j.sessions.planned, ready: j.sessions.ready, failed: j.sessions.failed },
    { planned: 6, ready: 6, failed: 0 });
  assert.equal(t.failures, 0);
  for (const s of j.per_session) {
    assert.equal(s.tracks.length, 4, `${s.name} receives 4 tracks`);
    for (const tr of s.tracks) {
      assert.ok(tr.unique > 0 && tr.unique >= tr.expected * 0.95, `${s.name} ${tr.kind} from ${tr.from}: ${tr.unique} of ${tr.expected}`);
    }
  }
  // The data channels: all open; relayed within each meeting only; the abuse was sent.
  assert.equal(t.dc_opened, 6);
  assert.equal(t.dc_abuse_sent, 140);
  assert.equal(t.dc_foreign, 0, 'a message crossed meetings');
  // Each message reaches the two others of its meeting (a few go before a channel is open).
  assert.ok(t.dc_received >= t.dc_sent, `relayed ${t.dc_received} for ${t.dc_sent} sent`);
  // The flood: a burst per receiver (and what the bucket refills meanwhile), not 100 each.
  assert.ok(t.dc_flood_received > 0 && t.dc_flood_received <= 2 * (RATE_BURST + 5), `flood relayed ${t.dc_flood_received}`);
  // The server counted what it dropped: the flood beyond the burst and the 13 unwanted messages.
  const dropped = await metric('videomeet_dc_dropped_total');
  assert.ok(dropped >= 100 - RATE_BURST - 5 + 13, `dropped ${dropped}`);
  assert.ok(await metric('videomeet_dc_messages_out_total') >= t.dc_received);
  const health = await (await fetch(`${server.url}/healthz`)).json();
  assert.equal(health.status, 'ok');
});
