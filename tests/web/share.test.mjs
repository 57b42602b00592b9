// Unit tests of web/js/share.js (no DOM): reading the SFU's screens from its offer, which
// presentation is shown large with one or several sharers, and our own share's end by the button
// or by the browser's own control (the track's `ended`).
import test from 'node:test';
import assert from 'node:assert/strict';
import { screenMidsOf, Presentations, ScreenShare } from '../../web/js/share.js';

const section = (mid, stream, { port = 9, slides = false, kind = 'video' } = {}) => [
  `m=${kind} ${port} UDP/TLS/RTP/SAVPF 96`, 'c=IN IP4 0.0.0.0', `a=mid:${mid}`, 'a=sendonly',
  `a=msid:${stream} ${mid}`, ...(slides ? ['a=content:slides'] : []), 'a=rtpmap:96 VP8/90000',
].join('\r\n');

test('screenMidsOf: the m-lines marked a=content:slides with a port, mapped to the sharer', () => {
  const sdp = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE a0 v1 v2 v4',
    section('a0', 'ualice', { kind: 'audio' }), section('v1', 'ualice'),
    section('v2', 'ualice-screen', { slides: true }), section('v3', 'ubob-screen', { slides: true, port: 0 }),
    section('v4', 'ucarol-screen', { slides: true }), section('v5', 'udave', { slides: true }), ''].join('\r\n');
  assert.deepEqual([...screenMidsOf(sdp)], [['v2', 'ualice'], ['v4', 'ucarol']]);
  assert.equal(screenMidsOf('v=0\r\n').size, 0);
  assert.equal(screenMidsOf(sdp.replaceAll('\r\n', '\n')).size, 2); // bare LF too
});

test('Presentations: the latest share is shown; a picked one stays until it ends or a new share starts', () => {
  const p = new Presentations();
  const s = (/** @type {string} */ n) => /** @type {any} */ ({ id: n });
  assert.equal(p.shown(), null);
  p.add('alice', s('a'), 'v2');
  p.add('bob', s('b'), 'v5');
  assert.equal(p.shown()?.userId, 'bob');
  assert.deepEqual(p.others().map((x) => x.userId), ['alice']);
  p.choose('alice');
  assert.equal(p.shown()?.userId, 'alice');
  p.choose('nobody');
  assert.equal(p.shown()?.userId, 'alice');
  p.add('carol', s('c'), 'v7'); // a new share takes the stage
  assert.equal(p.shown()?.userId, 'carol');
  assert.deepEqual(p.others().map((x) => x.userId), ['alice', 'bob']);
  p.choose('alice');
  assert.ok(p.remove('alice'));
  assert.equal(p.shown()?.userId, 'carol'); // the picked one ended: the latest
  // the end of bob's older share (another key) leaves his newer one
  p.add('bob', s('b2'), 'v9');
  assert.equal(p.remove('bob', 'v5'), false);
  assert.equal(p.shown()?.key, 'v9');
  assert.ok(p.remove('bob', 'v9'));
  assert.equal(p.shown()?.userId, 'carol');
  p.clear();
  assert.equal(p.shown(), null);
});

/** A fake display-capture track: stop() and `ended` as a browser's. */
class FakeTrack extends EventTarget {
  constructor() {
    super();
    this.kind = 'video';
    this.readyState = 'live';
    this.contentHint = '';
  }
  stop() { this.readyState = 'ended'; }
}
const fakeStream = (/** @type {FakeTrack} */ t) => /** @type {any} */ ({
  getVideoTracks: () => [t], getAudioTracks: () => [], getTracks: () => [t],
});

test('ScreenShare: ends once, by the button or by the browser (track ended); a refusal changes nothing', async () => {
  let track = new FakeTrack();
  const asked = [];
  const share = new ScreenShare(async (c) => { asked.push(c); return fakeStream(track); });
  const stops = [];
  share.addEventListener('stopped', (e) => stops.push(/** @type {CustomEvent} */ (e).detail.reason));
  await share.start();
  assert.equal(share.active, true);
  assert.equal(track.contentHint, 'detail');
  assert.equal(asked.length, 1);
  await share.start(); // already sharing: no second picker
  assert.equal(asked.length, 1);
  share.stop('button');
  assert.equal(track.readyState, 'ended');
  share.stop('button');
  assert.deepEqual(stops, ['button']);

  track = new FakeTrack();
  await share.start();
  track.dispatchEvent(new Event('ended')); // the browser's "Stop sharing"
  assert.equal(share.active, false);
  assert.deepEqual(stops, ['button', 'ended']);

  const refused = new ScreenShare(async () => { throw Object.assign(new Error('no'), { name: 'NotAllowedError' }); });
  await assert.rejects(refused.start(), { name: 'NotAllowedError' });
  assert.equal(refused.active, false);
});
