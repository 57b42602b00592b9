// Churn and the UDP port range (issue 13, "Soak"):
//
// - a short soak (bench/soak.sh --check: 3 rounds of 2 meetings of 4 bench participants joining,
//   sending media for 3 s and leaving, against this suite's server build): file descriptors, threads
//   and UDP sockets come back exactly to their baseline, the resident memory stays within a bound of
//   the start, nothing stays counted (connections, meetings, participants) and the server stops with
//   no sanitizer report (LeakSanitizer at exit);
// - the port range used up while a meeting runs: with ports for 4 participants, a meeting of 4 bench
//   participants sends and receives media while a fifth joiner gets `server-busy` (reason
//   `media-ports`) and stays out; the four lose nothing, every session stays up, and once they left
//   the range is whole again (gauges at 0) and another meeting of 4 gets in.
// The long soak and its figures: bench/README.md "Soak".
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, serverBin, repoRoot } from '../lib/server.mjs';
import { bench } from '../lib/bench.mjs';
import { connect, closeAll } from '../protocol/client.mjs';

test('a short churn soak: fds, threads and UDP sockets back exactly, memory within bounds, no leak at exit', { timeout: 240000 }, async () => {
  const args = ['--no-build', '--server', serverBin, '--rounds', '3', '--rooms', '2', '--size', '4', '--seconds', '3',
    '--bitrate', '300', '--check',
    // the sanitizer build keeps freed memory in quarantine and its own allocator: a small quarantine,
    // handed back to the kernel often, and a bound that holds for it (the release build: bench/README.md)
    '--rss-slack-mb', '80', // measured: +38 MB over the start, the warm-up's share included
    '--env', 'ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=16:allocator_release_to_os_interval_ms=200:exitcode=66'];
  const r = await new Promise((resolve) => {
    execFile(path.join(repoRoot, 'bench/soak.sh'), args, { timeout: 220000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
  console.log(r.stdout.split('\n').map((l) => `# ${l}`).join('\n'));
  assert.equal(r.code, 0, `soak.sh failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /soak\.sh: back to the baseline/);
  assert.match(r.stdout, /server exit status 0; sanitizer reports: 0/);
});

test('the port range used up while a meeting runs: the joiner is refused, the meeting loses nothing', { timeout: 120000 }, async () => {
  const MIN = 47300;
  const srv = await startServer({ RTC_MIN_PORT: String(MIN), RTC_MAX_PORT: String(MIN + 7) }); // 4 people
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vm-ports-'));
  const clients = [];
  const gauge = async (name) => {
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    return Number(text.split('\n').find((l) => l.startsWith(`${name} `)).split(' ')[1]);
  };
  try {
    const id = (await (await fetch(`${srv.url}/api/create-meeting`)).json()).meetingId;
    const run = (meetingId, out) => bench(['--url', srv.url, '--meeting', '4', '--meeting-id', meetingId,
      '--duration', '6', '--settle', '1', '--bitrate', '300', '--fps', '15', '--quiet', '--json', out]);
    const out = path.join(tmp, 'm1.json');
    const running = run(id, out);
    // once the four are in, a fifth tries the same meeting, and a sixth another one
    for (let i = 0; i < 100 && (await gauge('videomeet_participants')) < 4; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await gauge('videomeet_participants'), 4);
    for (const meetingId of [id, 'zzzz2345']) {
      const c = await connect(srv.wsUrl, { name: 'late' });
      clients.push(c);
      c.send({ type: 'join-meeting', meetingId, username: 'Late' });
      const e = await c.expectError('server-busy', 'join-meeting');
      assert.equal(e.reason, 'media-ports', JSON.stringify(e));
      await c.ping();
    }
    const b = await running;
    assert.equal(b.code, 0, b.stdout + b.stderr);
    const r = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.deepEqual({ ready: r.sessions.ready, failed: r.sessions.failed }, { ready: 4, failed: 0 });
    assert.equal(r.totals.up_connected, 4);
    assert.equal(r.totals.down_connected, 4);
    assert.ok(r.totals.loss_percent < 5, `loss ${r.totals.loss_percent} %`);
    for (const s of r.per_session) {
      assert.equal(s.tracks.length, 6, `${s.name} receives the 3 others' audio and video`);
      for (const t of s.tracks) assert.ok(t.unique >= t.expected * 0.95, `${s.name} ${t.kind}: ${t.unique} of ${t.expected}`);
    }
    assert.equal(await gauge('videomeet_rtc_ports_in_use'), 0);
    assert.equal(await gauge('videomeet_rtc_ports_reserved'), 0);
    // the range is whole again: another meeting of four gets in and connects
    const again = await run('yyyy2345', path.join(tmp, 'm2.json'));
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal(JSON.parse(fs.readFileSync(path.join(tmp, 'm2.json'), 'utf8')).sessions.ready, 4);
  } finally {
    await closeAll(clients);
    await srv.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
