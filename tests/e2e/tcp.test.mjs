// Media over one TCP port: the embedded TURN server (coturn on TURN_PORT, started by the server) and
// the credentials /api/config mints for each browser.
//
// - a Chromium whose UDP is blocked exchanges audio and video with a Chromium whose UDP works: the
//   blocked one runs as another user id, and an nftables output rule in this private network
//   namespace lets that uid send nothing but TCP to the server's HTTP port and to TURN_PORT (so it
//   can neither send UDP nor answer the SFU's UDP checks); both of its connections select a relayed
//   candidate over TCP and it decodes the other's video, and the other decodes its video; the
//   browser whose UDP works keeps host/UDP pairs (UDP stays the first choice);
// - the TURN server only relays to the SFU: with credentials from /api/config an allocation over
//   TCP succeeds and a permission towards the SFU's address is granted, towards another address
//   refused; a tampered or expired credential is refused (tests/lib/turn.mjs speaks TURN).
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { startServer, freePort } from '../lib/server.mjs';
import { launchBrowser, byTestId, smallCamera, spyOnPeerConnections, createMeeting, received } from './browser.mjs';
import { eventually, sleep } from '../lib/wait.mjs';
import { nft } from '../lib/nft.mjs';
import { turnConnect } from '../lib/turn.mjs';

const RTC_MIN_PORT = 47400;
const RTC_MAX_PORT = 47599;
const BLOCKED_UID = 47447; // a user id of no account: only the UDP-blocked Chromium runs as it
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

async function person(t, name, uid) {
  const b = await launchBrowser({
    name, uid, initScript: [smallCamera, spyOnPeerConnections],
    extraArgs: ['--autoplay-policy=no-user-gesture-required'],
  });
  t.after(() => b.close());
  return b;
}

async function join(b, meetingId, name) {
  await b.page.goto(`${server.url}/m/${meetingId}`);
  await byTestId(b.page, 'name-input').fill(name);
  await byTestId(b.page, 'join-now').click();
  await byTestId(b.page, 'meeting-page').waitFor({ state: 'visible' });
}

/** The selected candidate pair of each open peer connection of the page: its local candidate. */
async function selectedPairs(page) {
  return page.evaluate(async () => {
    const out = [];
    for (const pc of window.__pcs) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      let local = null;
      stats.forEach((r) => {
        if (r.type !== 'transport' || !r.selectedCandidatePairId) return;
        const pair = stats.get(r.selectedCandidatePairId);
        const c = pair && stats.get(pair.localCandidateId);
        if (c) local = { type: c.candidateType, protocol: c.protocol, relayProtocol: c.relayProtocol || null };
      });
      out.push({ state: pc.connectionState, local });
    }
    return out;
  });
}

/** Video frames decoded and audio packets received by page from `name`. */
async function fromWhom(page, name) {
  const r = (await received(page))[name] || {};
  return { frames: r.video?.frames || 0, audio: r.audio?.packets || 0, width: r.video?.width || 0 };
}

/** Packets the drop rule of `table` has dropped (its counter). */
function dropped(table) {
  const out = JSON.parse(execFileSync('nft', ['-j', 'list', 'table', 'inet', table], { encoding: 'utf8' }));
  let packets = 0;
  for (const item of out.nftables) {
    for (const e of item.rule?.expr || []) if (e.counter) packets += e.counter.packets;
  }
  return packets;
}

test('a browser whose UDP is blocked sends and receives audio and video through TURN over one TCP port', async (t) => {
  const table = 'vm_tcp_only';
  nft('add', 'table', 'inet', table);
  t.after(() => nft('delete', 'table', 'inet', table));
  nft('add', 'chain', 'inet', table, 'out', '{ type filter hook output priority 0; }');
  // The blocked browser may send TCP to the HTTP port and to the TURN port, and nothing else.
  nft('add', 'rule', 'inet', table, 'out', 'meta', 'skuid', String(BLOCKED_UID), 'tcp', 'dport',
    `{ ${server.port}, ${turnPort} }`, 'accept');
  nft('add', 'rule', 'inet', table, 'out', 'meta', 'skuid', String(BLOCKED_UID), 'counter', 'drop');

  const cfg = await (await fetch(`${server.url}/api/config`)).json();
  const turn = cfg.iceServers.find((s) => s.urls.some((u) => u.startsWith('turn:')));
  assert.deepEqual(turn.urls, [`turn:127.0.0.1:${turnPort}?transport=tcp`], JSON.stringify(cfg));
  assert.match(turn.username, /^\d+:[a-z0-9]+$/);

  const meetingId = await createMeeting(server.url);
  const blocked = await person(t, 'blocked', BLOCKED_UID);
  const open = await person(t, 'open');
  await join(blocked, meetingId, 'Blocked');
  await join(open, meetingId, 'Open');

  const t0 = Date.now();
  await eventually(async () => {
    const b = await fromWhom(blocked.page, 'Open');
    const o = await fromWhom(open.page, 'Blocked');
    assert.ok(b.frames > 0 && b.audio > 0, `blocked receives nothing from open: ${JSON.stringify(b)}`);
    assert.ok(o.frames > 0 && o.audio > 0, `open receives nothing from blocked: ${JSON.stringify(o)}`);
  }, 20000, 200);
  const firstMs = Date.now() - t0;

  // Both connections of the blocked browser are relayed over TCP; the open browser's stay on UDP.
  const bp = await selectedPairs(blocked.page);
  const op = await selectedPairs(open.page);
  assert.equal(bp.length, 2, JSON.stringify(bp));
  for (const p of bp) {
    assert.equal(p.state, 'connected', JSON.stringify(bp));
    assert.deepEqual(p.local, { type: 'relay', protocol: 'udp', relayProtocol: 'tcp' }, JSON.stringify(bp));
  }
  assert.equal(op.length, 2, JSON.stringify(op));
  for (const p of op) assert.deepEqual(p.local, { type: 'host', protocol: 'udp', relayProtocol: null }, JSON.stringify(op));

  // Media keeps flowing both ways over 5 s.
  const b0 = await fromWhom(blocked.page, 'Open');
  const o0 = await fromWhom(open.page, 'Blocked');
  await sleep(5000);
  const b1 = await fromWhom(blocked.page, 'Open');
  const o1 = await fromWhom(open.page, 'Blocked');
  const rule = dropped(table);
  console.log(`# first media both ways after ${firstMs} ms; in 5 s the blocked browser decoded ` +
    `${b1.frames - b0.frames} frames (${b1.width} wide) and ${b1.audio - b0.audio} audio packets, the open one ` +
    `${o1.frames - o0.frames} frames (${o1.width} wide) and ${o1.audio - o0.audio} audio packets; ` +
    `${rule} packets of the blocked browser dropped`);
  assert.ok(b1.frames - b0.frames >= 30, `blocked: ${JSON.stringify([b0, b1])}`);
  assert.ok(o1.frames - o0.frames >= 30, `open: ${JSON.stringify([o0, o1])}`);
  assert.ok(b1.audio - b0.audio >= 100 && o1.audio - o0.audio >= 100, JSON.stringify([b0, b1, o0, o1]));
  assert.ok(rule > 0, 'the rule dropped nothing: the blocked browser sent no UDP at all?');
  assert.deepEqual([...blocked.errors, ...open.errors], []);
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
