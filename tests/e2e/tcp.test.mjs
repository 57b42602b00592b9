// Media over one TCP port: the embedded TURN server (coturn on TURN_PORT, started by the server) and
// the credentials /api/config mints for each browser.
//
// - a Chromium whose UDP is blocked exchanges audio and video with a Chromium whose UDP works
//   (tcp-path.mjs): the blocked one runs as another user id, and an nftables output rule in this
//   private network namespace lets that uid send nothing but TCP to the server's HTTP port and to
//   TURN_PORT; both of its connections select a relayed candidate over TCP and both browsers decode
//   each other's video and receive audio; the browser whose UDP works keeps host/UDP pairs (UDP stays
//   the first choice); the TURN URL is the host the page was loaded from, with TURN_PORT;
// - the TURN server only relays to the SFU: with credentials from /api/config an allocation over
//   TCP succeeds and a permission towards the SFU's address is granted, towards another address
//   refused; a tampered or expired credential is refused (tests/lib/turn.mjs speaks TURN);
// - videomeet-bench --turn: a meeting of 3 bench participants relayed through the TURN server over
//   TCP (libnice force-relay) connects and gets its media with no loss, and the TURN server (a child
//   of the server, counted in the server's CPU) did the relaying;
// - a TURN server that dies (SIGKILL) is started again by the server and serves again; without
//   coturn installed the server does not start and says why.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { startServer, freePort, serverBin } from '../lib/server.mjs';
import { eventually } from '../lib/wait.mjs';
import { turnConnect } from '../lib/turn.mjs';
import { checkTcpPath, describe } from './tcp-path.mjs';

const RTC_MIN_PORT = 47400;
const RTC_MAX_PORT = 47599;
const TURN_SECRET = 'tcp-test-secret'; // known here, so that the test can mint an expired credential
let server;
let turnPort;

before(async () => {
  turnPort = await freePort();
  server = await startServer({
    RTC_MIN_PORT: String(RTC_MIN_PORT), RTC_MAX_PORT: String(RTC_MAX_PORT), TURN_PORT: String(turnPort),
    TURN_SECRET,
  });
  // coturn starts next to the server: wait until its TCP port answers.
  await eventually(() => turnConnect('127.0.0.1', turnPort).then((c) => c.close()), 10000, 100);
});

after(async () => {
  if (server) await server.stop();
});

test('a browser whose UDP is blocked sends and receives audio and video through TURN over one TCP port', async (t) => {
  const cfg = await (await fetch(`${server.url}/api/config`)).json();
  const turn = cfg.iceServers.find((s) => s.urls.some((u) => u.startsWith('turn:')));
  assert.deepEqual(turn.urls, [`turn:127.0.0.1:${turnPort}?transport=tcp`], JSON.stringify(cfg));
  assert.match(turn.username, /^\d+:[a-z0-9]+$/);
  const figures = await checkTcpPath({ url: server.url, turnPort, table: 'vm_tcp_only', defer: (fn) => t.after(fn) });
  console.log(`# ${describe(figures)}`);
});

/** A credential of the TURN REST API scheme, computed here independently of the server's. */
const mint = (username) => crypto.createHmac('sha1', TURN_SECRET).update(username).digest('base64');

test('the TURN server relays to the SFU only, for credentials the server minted and that have not expired', async (t) => {
  const cfg = await (await fetch(`${server.url}/api/config`)).json();
  const { username, credential } = cfg.iceServers.find((s) => s.urls[0].startsWith('turn:'));
  const expiry = Number(username.split(':')[0]);
  const now = Date.now() / 1000;
  assert.ok(expiry > now + 86400 - 60 && expiry < now + 86400 + 60, `expiry ${expiry}, now ${now}`);
  assert.equal(credential, mint(username));

  const conns = [];
  const connect = async () => {
    const c = await turnConnect('127.0.0.1', turnPort);
    conns.push(c);
    return c;
  };
  t.after(() => Promise.all(conns.map((c) => c.close())));

  const c = await connect();
  const alloc = await c.allocate(username, credential);
  assert.equal(alloc.ok, true, `allocate: ${JSON.stringify(alloc)}`);
  assert.equal(alloc.relayed.ip, '127.0.0.1'); // relayed from the SFU's own address (RTC_IPS)
  assert.deepEqual(await c.createPermission('127.0.0.1'), { ok: true, code: 0 }); // the SFU
  assert.deepEqual(await c.createPermission('127.0.0.2'), { ok: false, code: 403 }); // loopback, not the SFU
  assert.deepEqual(await c.createPermission('10.1.2.3'), { ok: false, code: 403 });

  const tampered = credential.slice(0, -2) + (credential.endsWith('A=') ? 'B=' : 'A=');
  assert.equal((await (await connect()).allocate(username, tampered)).code, 401);
  const expired = `${Math.floor(now) - 10}:x`;
  assert.equal((await (await connect()).allocate(expired, mint(expired))).code, 401);
  const fresh = `${Math.floor(now) + 600}:x`;
  assert.equal((await (await connect()).allocate(fresh, mint(fresh))).ok, true);
});

test('the server starts its TURN server again when it dies', async () => {
  const turnPids = () => fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return stat.includes('(turnserver)') && Number(fields[1]) === server.proc.pid; // its parent
    } catch {
      return false; // gone meanwhile
    }
  });
  const [pid] = turnPids();
  assert.ok(pid, 'no turnserver child of the server');
  process.kill(Number(pid), 'SIGKILL');
  await eventually(() => assert.match(server.output(), /turn: coturn ended by signal 9/), 5000, 50);
  // started again after 1 s, and it serves: an allocation with fresh credentials succeeds
  await eventually(async () => {
    const [again] = turnPids();
    assert.ok(again && again !== pid, `turnserver pids: ${turnPids()}`);
    const cfg = await (await fetch(`${server.url}/api/config`)).json();
    const { username, credential } = cfg.iceServers.find((s) => s.urls[0].startsWith('turn:'));
    const c = await turnConnect('127.0.0.1', turnPort);
    try {
      assert.equal((await c.allocate(username, credential)).ok, true);
    } finally {
      await c.close();
    }
  }, 10000, 200);
});

test('without coturn installed, a server asked for a TURN server says so and does not start', async () => {
  await assert.rejects(startServer({ TURN_PORT: String(await freePort()), PATH: '/nonexistent' }),
    /exited early \(\{"code":1,"signal":null\}\)[^]*coturn's turnserver is not installed/);
});

test('videomeet-bench runs its participants through the TURN server over TCP', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vm-tcp-bench-'));
  const json = path.join(dir, 'turn.json');
  const res = await new Promise((resolve) => {
    execFile(path.join(path.dirname(serverBin), 'videomeet-bench'), [
      '--url', server.url, '--meeting', '3', '--duration', '3', '--bitrate', '300', '--fps', '15', '--turn',
      '--server-pid', String(server.proc.pid), '--quiet', '--json', json,
    ], { timeout: 90000, env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=66' } },
    (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
  try {
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    const r = JSON.parse(fs.readFileSync(json, 'utf8'));
    console.log(`# bench over TURN/TCP: ${r.sessions.ready}/3 ready, ${Math.round(r.server.rtp_out_per_s)} packets/s ` +
      `forwarded, loss ${r.bench.loss_percent} %, TURN server ${r.server.cpu_children_percent} % CPU`);
    assert.equal(r.sessions.ready, 3);
    assert.ok(r.server.rtp_out_per_s > 0);
    assert.ok(r.bench.loss_percent < 1, `loss ${r.bench.loss_percent}`);
    assert.ok(r.server.cpu_children_percent > 0, 'the TURN server relayed nothing');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
