// The UDP port range as the server's capacity (README, Docker; PROTOCOL.md, server-busy), with real
// media and a real browser:
//
// - a meeting of 3 bench participants fills a range of 6 ports (2 per participant); a 4th joiner
//   gets `server-busy` (reason `media-ports`) while the 3 keep sending and receiving every track
//   with almost no loss, and /metrics counts the refusal;
// - Chromium joining through the web app when the range is full stays on the setup page with a
//   message that says so;
// - Chromium let in while another program holds every port of the range is taken out of the
//   meeting when its connection finds no port: back on the setup page with the same message, and
//   the others see it leave.
//
// The kernel is told not to hand out the test's ports as ephemeral ports in this private network
// namespace (ip_local_reserved_ports), so the bench's and Chromium's own sockets never take one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, serverBin } from '../lib/server.mjs';
import { eventually } from '../lib/wait.mjs';
import { connect, connectAndJoin, closeAll, randomMeetingId } from '../protocol/client.mjs';
import { launchBrowser, byTestId, smallCamera, screenshotDir, screenshot } from './browser.mjs';

const RESERVED = '/proc/sys/net/ipv4/ip_local_reserved_ports';
const benchBin = path.join(path.dirname(serverBin), 'videomeet-bench');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vm-ports-'));
let reservedBefore = '';
let shots = '';

before(async () => {
  shots = await screenshotDir('ports');
  reservedBefore = fs.readFileSync(RESERVED, 'utf8').trim();
  fs.writeFileSync(RESERVED, '47200-47399');
});

after(() => {
  fs.writeFileSync(RESERVED, reservedBefore || '\n');
  fs.rmSync(tmp, { recursive: true, force: true });
});

const range = (min, max) => ({ RTC_MIN_PORT: String(min), RTC_MAX_PORT: String(max) });

/** A /metrics sample (the full series name, labels included). */
async function metric(srv, series) {
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

/** Asserts a server-busy error for want of media ports. */
async function expectNoPorts(c, ref) {
  const e = await c.expectError('server-busy', ref);
  assert.equal(e.reason, 'media-ports', JSON.stringify(e));
}

test('a 4th participant past a 6-port range is refused while the meeting of 3 goes on', { timeout: 120000 }, async (t) => {
  const srv = await startServer(range(47200, 47205));
  t.after(() => srv.stop());
  const out = path.join(tmp, 'meeting3.json');
  const bench = new Promise((resolve) => {
    execFile(benchBin, ['--url', srv.url, '--server-pid', String(srv.proc.pid), '--json', out, '--quiet',
      '--meeting', '3', '--duration', '6', '--settle', '1', '--join-rate', '10', '--bitrate', '300', '--fps', '15'], {
      timeout: 90000,
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=66' },
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
  });
  await eventually(async () => {
    assert.equal((await (await fetch(`${srv.url}/healthz`)).json()).participants, 3);
  }, 20000);
  // The range is full: a 4th person is turned away, in a meeting of its own or any other.
  const d = await connect(srv.wsUrl, { name: 'D' });
  t.after(() => closeAll(d));
  d.send({ type: 'join-meeting', meetingId: randomMeetingId(), username: 'D' });
  await expectNoPorts(d, 'join-meeting');
  await d.ping();
  assert.equal(await metric(srv, 'videomeet_port_range_exhausted_total{stage="join"}'), 1);
  assert.equal(await metric(srv, 'videomeet_rtc_ports_reserved'), 6);
  assert.equal(await metric(srv, 'videomeet_rtc_ports_available'), 6);

  const r = await bench;
  assert.equal(r.code, 0, `bench exit code ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  const res = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.deepEqual({ ready: res.sessions.ready, failed: res.sessions.failed }, { ready: 3, failed: 0 });
  for (const s of res.per_session) {
    assert.equal(s.tracks.length, 4, `${s.name} receives the 2 others' audio and video`);
    for (const tr of s.tracks) {
      assert.ok(tr.unique > 0 && tr.unique >= tr.expected * 0.95, `${s.name} ${tr.kind} from ${tr.from}: ${tr.unique} of ${tr.expected}`);
    }
  }
  assert.ok(res.bench.loss_percent < 5, `loss in the window ${res.bench.loss_percent} %`);
  assert.equal(await metric(srv, 'videomeet_port_range_exhausted_total{stage="gather"}'), 0);
});

/** A Chromium participant with a small camera; closed when the test ends. */
async function person(t, name) {
  const b = await launchBrowser({ name, initScript: smallCamera });
  t.after(() => b.close());
  return b;
}

async function joinFromSetup(page, url, name) {
  await page.goto(url);
  await byTestId(page, 'setup-page').waitFor({ state: 'visible' });
  await byTestId(page, 'name-input').fill(name);
  await byTestId(page, 'join-now').click();
}

const FULL = /server is full/i;

test('the web app: a join refused for want of ports says so and stays on setup', { timeout: 120000 }, async (t) => {
  const srv = await startServer(range(47210, 47211)); // 2 ports: 1 participant
  t.after(() => srv.stop());
  const id = randomMeetingId();
  const { client: a } = await connectAndJoin(srv.wsUrl, id, 'Ann');
  t.after(() => closeAll(a));
  const B = await person(t, 'B');
  await joinFromSetup(B.page, `${srv.url}/m/${id}`, 'Bea');
  await eventually(async () => assert.match(await byTestId(B.page, 'toast-area').textContent(), FULL));
  assert.equal(await byTestId(B.page, 'setup-page').isVisible(), true);
  assert.equal(await byTestId(B.page, 'join-now').isDisabled(), false);
  await screenshot(B.page, shots, 'setup-no-ports-1280');
  await a.expectNone('user-joined');
  assert.equal(await metric(srv, 'videomeet_port_range_exhausted_total{stage="join"}'), 1);
  const pageErrors = B.errors.filter((m) => !/WebSocket/.test(m));
  assert.deepEqual(pageErrors, []);
});

test('the web app: taken out of the meeting when its connection finds no port', { timeout: 120000 }, async (t) => {
  const srv = await startServer(range(47220, 47223));
  t.after(() => srv.stop());
  const squatters = [];
  t.after(() => squatters.forEach((s) => s.close()));
  for (let p = 47220; p <= 47223; p++) {
    const sock = dgram.createSocket('udp4');
    await new Promise((resolve, reject) => { sock.once('error', reject); sock.bind(p, '127.0.0.1', resolve); });
    squatters.push(sock);
  }
  const id = randomMeetingId();
  const { client: a } = await connectAndJoin(srv.wsUrl, id, 'Ann');
  t.after(() => closeAll(a));
  const B = await person(t, 'B');
  await joinFromSetup(B.page, `${srv.url}/m/${id}`, 'Bea');
  const joined = await a.next('user-joined', 15000);
  assert.equal(joined.user.username, 'Bea');
  const left = await a.next('user-left', 15000);
  assert.equal(left.userId, joined.user.userId);
  await eventually(async () => assert.match(await byTestId(B.page, 'toast-area').textContent(), FULL));
  assert.equal(await byTestId(B.page, 'setup-page').isVisible(), true);
  assert.equal(await byTestId(B.page, 'meeting-page').isVisible(), false);
  await screenshot(B.page, shots, 'setup-taken-out-1280');
  // It does not come back by itself: no rejoin loop against a full range.
  await a.expectNone('user-joined', 2000);
  assert.equal((await (await fetch(`${srv.url}/healthz`)).json()).participants, 1);
  assert.equal(await metric(srv, 'videomeet_port_range_exhausted_total{stage="gather"}'), 1);
  const pageErrors = B.errors.filter((m) => !/WebSocket/.test(m));
  assert.deepEqual(pageErrors, []);
});
