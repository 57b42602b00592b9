// Unit tests of web/js/participants.js (pure: no DOM): the participants panel's state — everyone
// with mic/camera state and raised hands, the order (hands first in the order they went up, then
// us, then by name), search with case and accents folded, and hands that survive updates.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Roster, fold } from '../../web/js/participants.js';

const names = (list) => list.map((p) => p.username);

function roster() {
  const r = new Roster();
  r.upsert({ userId: 'u1', username: 'Zoë', audio: true, video: false, joinedAt: 1 });
  r.upsert({ userId: 'me', username: 'Me', joinedAt: 2 }, true);
  r.upsert({ userId: 'u2', username: 'adam', audio: false, video: true, joinedAt: 3 });
  r.upsert({ userId: 'u3', username: 'Bea Lopez', joinedAt: 4 });
  return r;
}

test('everyone is listed with their state: us first, then by name (case-insensitive)', () => {
  const r = roster();
  assert.equal(r.count, 4);
  assert.deepEqual(names(r.list()), ['Me', 'adam', 'Bea Lopez', 'Zoë']);
  const zoe = r.list().find((p) => p.userId === 'u1');
  assert.deepEqual([zoe.audio, zoe.video, zoe.hand, zoe.self], [true, false, false, false]);
  assert.equal(r.list()[0].self, true);
  assert.equal(r.list()[0].audio, true, 'media state defaults to on');
});

test('raised hands come first, in the order they went up, and survive updates', () => {
  const r = roster();
  assert.equal(r.setHand('u3', true), true);
  assert.equal(r.setHand('u1', true), true);
  assert.equal(r.setHand('u1', true), false, 'no change');
  assert.equal(r.setHand('nobody', true), false, 'unknown people are ignored');
  assert.deepEqual(names(r.list()), ['Bea Lopez', 'Zoë', 'Me', 'adam']);
  assert.deepEqual(names(r.hands()), ['Bea Lopez', 'Zoë']);
  r.upsert({ userId: 'u3', username: 'Bea López', audio: false }); // renamed, muted: the hand stays
  assert.equal(r.hand('u3'), true);
  assert.equal(r.list()[0].audio, false);
  r.setMedia('u1', { video: true });
  assert.equal(r.list()[1].video, true);
  assert.equal(r.setHand('u3', false), true);
  assert.deepEqual(names(r.list()), ['Zoë', 'Me', 'adam', 'Bea López']);
  assert.equal(r.setHand('u3', true), true); // up again: after Zoë now
  assert.deepEqual(names(r.hands()), ['Zoë', 'Bea López']);
});

test('search: every word must match, case and accents folded', () => {
  const r = roster();
  assert.deepEqual(names(r.list('zoe')), ['Zoë']);
  assert.deepEqual(names(r.list('ZOË')), ['Zoë']);
  assert.deepEqual(names(r.list('  lo  bea ')), ['Bea Lopez']);
  assert.deepEqual(names(r.list('a')), ['adam', 'Bea Lopez']);
  assert.deepEqual(names(r.list('x')), []);
  assert.deepEqual(names(r.list('')), ['Me', 'adam', 'Bea Lopez', 'Zoë']);
  assert.equal(fold('Ÿves ÉLODIE'), 'yves elodie');
});

test('leaving removes a person and their hand; clear empties the roster', () => {
  const r = roster();
  r.setHand('u2', true);
  r.remove('u2');
  assert.equal(r.hand('u2'), false);
  assert.deepEqual(names(r.hands()), []);
  r.upsert({ userId: 'u2', username: 'adam' }); // back (a rejoin): hand down
  assert.equal(r.hand('u2'), false);
  r.clear();
  assert.equal(r.count, 0);
});

test('a long list: 50 people, search narrows it', () => {
  const r = new Roster();
  for (let i = 0; i < 50; i++) r.upsert({ userId: `u${i}`, username: `Person ${String(i).padStart(2, '0')}`, joinedAt: i });
  assert.equal(r.list().length, 50);
  // every word anywhere in the name: "4" is in 04, 14, 24, 34 and 40-49
  assert.equal(r.list('person 4').length, 14);
  assert.deepEqual(names(r.list('person 4')).slice(0, 5), ['Person 04', 'Person 14', 'Person 24', 'Person 34', 'Person 40']);
  assert.deepEqual(names(r.list('07')), ['Person 07']);
});
