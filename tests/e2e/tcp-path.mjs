// The TCP path, end to end: a Chromium whose UDP is blocked and a Chromium whose UDP works meet on a
// VideoMeet server; the blocked one must get audio and video both ways through the TURN server that
// /api/config names, over TCP. Used by tests/e2e/tcp.test.mjs (a server in a private network
// namespace) and scripts/docker-check.sh (the Docker image's server and TURN server).
//
// The blocked Chromium runs as another user id, and an nftables output rule (a table of its own) lets
// that uid send nothing but TCP to the HTTP port and to the TURN port: no UDP at all, so it can neither
// send media nor answer the SFU's UDP checks. (An input rule could not tell the two browsers apart on
// loopback; the output hook knows the sending socket's owner.)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { launchBrowser, byTestId, smallCamera, spyOnPeerConnections, createMeeting, received } from './browser.mjs';
import { eventually, sleep } from '../lib/wait.mjs';
import { nft } from '../lib/nft.mjs';

/** A user id of no account: only the UDP-blocked Chromium runs as it. */
export const BLOCKED_UID = 47447;

/** The selected candidate pair of each open peer connection of the page: its local candidate. */
export async function selectedPairs(page) {
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

/** Packets the rules of nftables table `table` have counted. */
function counted(table) {
  const out = JSON.parse(execFileSync('nft', ['-j', 'list', 'table', 'inet', table], { encoding: 'utf8' }));
  let packets = 0;
  for (const item of out.nftables) {
    for (const e of item.rule?.expr || []) if (e.counter) packets += e.counter.packets;
  }
  return packets;
}

/**
 * Runs the scenario against the server at `url` (http://host:port) whose TURN server listens on TCP
 * `turnPort`, and asserts it. `defer(fn)` registers a clean-up (browsers, the nftables table).
 * Returns the figures: { firstMs, blocked, open (frames/audio/width over 5 s), dropped }.
 */
export async function checkTcpPath({ url, turnPort, table, defer }) {
  const httpPort = new URL(url).port;
  nft('add', 'table', 'inet', table);
  defer(() => nft('delete', 'table', 'inet', table));
  nft('add', 'chain', 'inet', table, 'out', '{ type filter hook output priority 0; }');
  nft('add', 'rule', 'inet', table, 'out', 'meta', 'skuid', String(BLOCKED_UID), 'tcp', 'dport',
    `{ ${httpPort}, ${turnPort} }`, 'accept');
  nft('add', 'rule', 'inet', table, 'out', 'meta', 'skuid', String(BLOCKED_UID), 'counter', 'drop');

  const person = async (name, uid) => {
    const b = await launchBrowser({
      name, uid, initScript: [smallCamera, spyOnPeerConnections],
      extraArgs: ['--autoplay-policy=no-user-gesture-required'],
    });
    defer(() => b.close());
    return b;
  };
  const join = async (b, meetingId, name) => {
    await b.page.goto(`${url}/m/${meetingId}`);
    await byTestId(b.page, 'name-input').fill(name);
    await byTestId(b.page, 'join-now').click();
    await byTestId(b.page, 'meeting-page').waitFor({ state: 'visible' });
  };

  const meetingId = await createMeeting(url);
  const blocked = await person('blocked', BLOCKED_UID);
  const open = await person('open');
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
  for (const p of op) {
    assert.deepEqual(p.local, { type: 'host', protocol: 'udp', relayProtocol: null }, JSON.stringify(op));
  }

  // Media keeps flowing both ways over 5 s.
  const b0 = await fromWhom(blocked.page, 'Open');
  const o0 = await fromWhom(open.page, 'Blocked');
  await sleep(5000);
  const b1 = await fromWhom(blocked.page, 'Open');
  const o1 = await fromWhom(open.page, 'Blocked');
  const delta = (a, b) => ({ frames: b.frames - a.frames, audio: b.audio - a.audio, width: b.width });
  const figures = { firstMs, blocked: delta(b0, b1), open: delta(o0, o1), dropped: counted(table) };
  assert.ok(figures.blocked.frames >= 30, `blocked: ${JSON.stringify([b0, b1])}`);
  assert.ok(figures.open.frames >= 30, `open: ${JSON.stringify([o0, o1])}`);
  assert.ok(figures.blocked.audio >= 100 && figures.open.audio >= 100, JSON.stringify(figures));
  assert.ok(figures.dropped > 0, 'the rule dropped nothing: the blocked browser sent no UDP at all?');
  assert.deepEqual([...blocked.errors, ...open.errors], []);
  return figures;
}

/** One line for a person to read. */
export function describe(f) {
  return `first media both ways after ${f.firstMs} ms; in 5 s the UDP-blocked browser decoded ${f.blocked.frames} ` +
    `frames (${f.blocked.width} wide) and ${f.blocked.audio} audio packets, the other ${f.open.frames} frames ` +
    `(${f.open.width} wide) and ${f.open.audio} audio packets; ${f.dropped} packets of the blocked browser dropped`;
}
