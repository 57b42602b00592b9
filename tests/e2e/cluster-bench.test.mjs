// videomeet-bench --rooms 30 against three nodes sharing meetings through Redis (README, "Several
// nodes"; bench/README.md): every session joins through node0; joins of rooms placed elsewhere are
// answered `moved` and the bench joins on the named node. The bench reports the load per node from
// each node's /healthz: the participants per node are within 20 % of each other ((max - min) / mean),
// every node has some of the 30 rooms, and every room's media flows (every session ready, and every
// receiver got packets from the other participant in the window). Small rooms, low bitrate, a short
// window: about a minute on the shared machine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCluster } from '../lib/cluster.mjs';
import { bench } from '../lib/bench.mjs';

let cluster;

before(async () => {
  cluster = await startCluster({ nodes: 3, rtcPorts: 47000, env: { WORKERS: '1' } });
});

after(() => cluster?.stop());

test('videomeet-bench --rooms 30 over three nodes: balanced within 20 %, media in every room', { timeout: 150000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vm-cluster-bench-'));
  const out = path.join(dir, 'bench.json');
  try {
    const r = await bench(['--url', cluster.nodes[0].url, '--rooms', '30', '--meeting', '2', '--bitrate', '100', '--fps', '10',
      '--duration', '5', '--join-rate', '15', '--settle', '2', '--join-timeout', '30', '--seed', '7', '--quiet',
      '--json', out], 120000);
    console.log(r.stdout.split('\n').filter((l) => /load per node|node\d|imbalance|sessions ready|node +url/.test(l)).map((l) => `# ${l}`).join('\n'));
    assert.equal(r.code, 0, `bench exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /AddressSanitizer|LeakSanitizer|runtime error:/);
    const j = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.equal(j.sessions.planned, 60);
    assert.equal(j.sessions.ready, 60, `ready ${j.sessions.ready} of 60, failed ${j.sessions.failed}`);
    // the load per node: all three, from their /healthz while the sessions were in
    const per = j.cluster.nodes;
    assert.deepEqual(per.map((n) => n.id).sort(), ['node0', 'node1', 'node2']);
    assert.equal(per.reduce((s, n) => s + n.participants, 0), 60);
    assert.equal(per.reduce((s, n) => s + n.rooms, 0), 30);
    for (const n of per) assert.ok(n.rooms > 0 && n.sessions === n.participants, JSON.stringify(n));
    assert.ok(j.cluster.imbalance.participants <= 0.2, `imbalance ${j.cluster.imbalance.participants}: ${JSON.stringify(per)}`);
    // the bench followed `moved` to the two other nodes
    const moved = j.per_session.filter((s) => s.node !== cluster.nodes[0].url).length;
    assert.ok(moved >= 30, `${moved} sessions moved`);
    // media in every room: each receiver got packets of the other participant in the window
    for (let room = 0; room < 30; room++) {
      const ss = j.per_session.filter((s) => s.room === room);
      assert.equal(ss.length, 2);
      assert.equal(ss[0].node, ss[1].node, `room ${room} split over two nodes`);
      for (const s of ss) {
        const video = s.tracks.filter((t) => t.kind === 'video');
        assert.ok(video.length === 1 && video[0].unique > 20, `room ${room} ${s.name}: ${JSON.stringify(s.tracks)}`);
        assert.ok(s.tracks.some((t) => t.kind === 'audio' && t.unique > 20), `room ${room} ${s.name}: no audio`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
