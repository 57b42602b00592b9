// The gauges of /metrics stay exact through every way a connection ends (issue 13: after people left
// normally, videomeet_peer_connections{state="connected"} had gone to 2^64-5 and "failed" to 5).
// Real ICE, DTLS and SRTP: videomeet-bench participants (each one a publishing and a receiving
// connection) and one Chromium. After each step the gauges are compared with what must be alive:
//
// - bench participants join: connected = 2 per participant, nothing new/connecting/failed, ports in
//   use 2 each, participants and WebSocket connections as many as are in;
// - a Chromium joins and leaves with the leave button (it closes its connections: DTLS close_notify,
//   which may reach the SFU before or after its leave): back to the bench's figures, no failure;
// - a bench process that vanishes (SIGSTOP: its sockets stay open, it answers nothing) is dropped
//   once its ICE consent expires (RFC 7675) and the repair grace passes (media-failed): its
//   connections and WebSockets leave every gauge, the others' stay;
// - the bench leaves at the end of its run: every gauge at 0;
// - the server stops (SIGTERM) with participants in: their figures read just before, and the SFU's
//   last word is that no connection and no port is left counted.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startServer } from '../lib/server.mjs';
import { track } from '../lib/children.mjs';
import { benchBin } from '../lib/bench.mjs';
import { eventually, sleep } from '../lib/wait.mjs';
import { launchBrowser, smallCamera, createMeeting, joinMeeting, byTestId } from './browser.mjs';

const RTC_MIN_PORT = 46800;
const RTC_MAX_PORT = 46899;
let server;

before(async () => {
  server = await startServer({ RTC_MIN_PORT: String(RTC_MIN_PORT), RTC_MAX_PORT: String(RTC_MAX_PORT),
    RECONNECT_GRACE_SECONDS: '3' });
});

after(async () => {
  if (server?.isRunning()) await server.stop();
});

/** The gauges, by short name. */
async function gauges(srv = server) {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const g = {};
  for (const line of text.split('\n')) {
    const m = /^videomeet_(peer_connections\{state="(\w+)"\}|participants|meetings|websocket_connections|rtc_ports_in_use|rtc_ports_reserved|dtls_failures_total) (\d+)$/.exec(line);
    if (m) g[m[2] || m[1]] = Number(m[3]);
  }
  return g;
}

/** What the gauges must say with `people` participants whose connections are all up. */
function expected(people, { meetings = people ? 1 : 0, sockets = people } = {}) {
  return {
    new: 0, connecting: 0, connected: 2 * people, failed: 0,
    participants: people, meetings, websocket_connections: sockets,
    rtc_ports_in_use: 2 * people, rtc_ports_reserved: 2 * people,
  };
}

function pick(g) {
  const { dtls_failures_total: _, ...rest } = g;
  return rest;
}

async function expectGauges(want, timeout = 20000) {
  return eventually(async () => assert.deepEqual(pick(await gauges()), want), timeout, 200);
}

/** Starts a bench of n participants in meetingId for `seconds`; resolves when it exits. */
function startBench(meetingId, n, seconds) {
  const proc = track(spawn(benchBin, ['--url', server.url, '--meeting', String(n), '--meeting-id', meetingId,
    '--duration', String(seconds), '--settle', '0', '--bitrate', '200', '--fps', '10', '--quiet'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' }, // a SIGKILLed bench leaks by design
  }));
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const done = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal, out })));
  return { proc, done, output: () => out };
}

test('the gauges follow joins, a browser leaving, a client vanishing and the bench leaving', async (t) => {
  const id = await createMeeting(server.url);
  assert.deepEqual(pick(await gauges()), expected(0, { meetings: 1, sockets: 0 })); // made, nobody in yet

  // 2 bench participants stay through the test; 2 more in another process will vanish.
  const stay = startBench(id, 2, 120);
  t.after(() => stay.proc.kill('SIGKILL'));
  await expectGauges(expected(2));
  const gone = startBench(id, 2, 120);
  t.after(() => { gone.proc.kill('SIGCONT'); gone.proc.kill('SIGKILL'); });
  await expectGauges(expected(4));

  // A browser joins, then leaves with the button: its connections close from its side.
  const b = await launchBrowser({ name: 'Lee', initScript: [smallCamera] });
  t.after(() => b.close());
  await joinMeeting(b.page, server.url, id, 'Lee');
  await expectGauges(expected(5));
  await byTestId(b.page, 'leave-button').click();
  await expectGauges(expected(4));
  await sleep(1000); // a close_notify late after the leave changes nothing
  assert.deepEqual(pick(await gauges()), expected(4));

  // The second bench process freezes: the SFU's consent checks find it gone, the grace passes.
  const t0 = Date.now();
  gone.proc.kill('SIGSTOP');
  // (its WebSockets too: the server closes the socket of a participant whose media failed)
  await expectGauges(expected(2), 90000);
  console.log(`# a vanished client left every gauge after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  gone.proc.kill('SIGKILL');
  await expectGauges(expected(2));
  assert.equal((await gauges()).dtls_failures_total, 0);

  stay.proc.kill('SIGTERM'); // the bench leaves as at the end of its run
  const r = await stay.done;
  assert.equal(r.signal, null, `bench: ${JSON.stringify(r.signal)} ${r.code}\n${r.out}`);
  await expectGauges(expected(0, { meetings: 1, sockets: 0 })); // the meeting waits its grace period
});

test('a server stopped with participants in counts every connection out', async (t) => {
  const srv = await startServer({ RTC_MIN_PORT: String(RTC_MIN_PORT + 50), RTC_MAX_PORT: String(RTC_MAX_PORT) });
  t.after(async () => { if (srv.isRunning()) await srv.stop(); });
  const prev = server;
  server = srv;
  try {
    const id = await createMeeting(srv.url);
    const run = startBench(id, 3, 60);
    t.after(() => run.proc.kill('SIGKILL'));
    await expectGauges(expected(3));
    const before = pick(await gauges()); // just before the stop
    assert.deepEqual(before, expected(3));
    await srv.stop(); // SIGTERM; fails on a sanitizer report or a bad exit
    assert.match(srv.output(),
      /sfu: stopped; WebRTC connections left: new 0, connecting 0, connected 0, failed 0; ports in use 0/);
    const stopping = srv.output().slice(srv.output().lastIndexOf('videomeet ready'));
    assert.doesNotMatch(stopping, /transport closed|DTLS closed by the browser|E sfu/);
    run.proc.kill('SIGKILL');
  } finally {
    server = prev;
  }
});
