// Unit tests of web/js/layout.js (pure: no DOM): grid pages of at most 16 tiles that keep their
// people when others join, page clamping when people leave, the speaker view's main tile and strip
// from the server's active-speakers, and the active speaker to highlight.
import test from 'node:test';
import assert from 'node:assert/strict';
import { LayoutState, PAGE_SIZE, STRIP_MAX } from '../../web/js/layout.js';

/** A meeting of us ("me") and n others p1..pn, joined in that order. */
function meeting(n, opts) {
  const l = new LayoutState(opts);
  l.setSelf('me');
  for (let i = 1; i <= n; i++) l.add(`p${i}`);
  return l;
}

test('grid: pages of 16 tiles, our own first, in join order', () => {
  assert.equal(PAGE_SIZE, 16);
  const l = meeting(24); // 25 tiles: 16 + 9
  let v = l.view();
  assert.equal(v.mode, 'grid');
  assert.equal(v.pageCount, 2);
  assert.equal(v.page, 0);
  assert.deepEqual(v.shown, ['me', ...Array.from({ length: 15 }, (_, i) => `p${i + 1}`)]);
  l.setPage(1);
  v = l.view();
  assert.deepEqual(v.shown, Array.from({ length: 9 }, (_, i) => `p${i + 16}`));
  // out of range is clamped
  l.setPage(7);
  assert.equal(l.view().page, 1);
  l.setPage(-3);
  assert.equal(l.view().page, 0);
  l.setPage(Number.NaN);
  assert.equal(l.view().page, 0);
});

test('grid: the page choice survives new joiners (they land at the end)', () => {
  const l = meeting(20);
  l.setPage(1);
  const before = l.view().shown;
  for (let i = 21; i <= 30; i++) l.add(`p${i}`);
  l.add('p5'); // already here: not twice
  const v = l.view();
  assert.equal(v.page, 1);
  assert.equal(v.pageCount, 2);
  assert.deepEqual(v.shown.slice(0, before.length), before);
  assert.equal(v.shown.length, 15);
  l.add('p31');
  l.add('p32');
  assert.equal(l.view().pageCount, 3);
  assert.equal(l.view().page, 1);
});

test('grid: people leaving shrink the pages; the page is clamped to the last one', () => {
  const l = meeting(20);
  l.setPage(1);
  for (let i = 16; i <= 20; i++) l.remove(`p${i}`);
  const v = l.view();
  assert.equal(v.pageCount, 1);
  assert.equal(v.page, 0);
  assert.equal(v.shown.length, 16);
  l.clear();
  assert.deepEqual(l.view(), { mode: 'grid', page: 0, pageCount: 1, ids: [], shown: [], main: null, active: null });
});

test('the active speaker: the first of the server list, when here (ourselves included)', () => {
  const l = meeting(3);
  assert.equal(l.view().active, null);
  l.setSpeakers(['p2', 'p1']);
  assert.equal(l.view().active, 'p2');
  l.setSpeakers(['me', 'p2']);
  assert.equal(l.view().active, 'me');
  l.setSpeakers(['gone', 'p2']); // left meanwhile (a user-left crossed it)
  assert.equal(l.view().active, null);
  l.setSpeakers('nonsense');
  assert.deepEqual(l.speakers, []);
  l.setSpeakers(['p1', 7, null]);
  assert.deepEqual(l.speakers, ['p1']);
});

test('speaker view: the active speaker large, the others in the strip, recent speakers first', () => {
  const l = meeting(5);
  l.setMode('speaker');
  let v = l.view();
  // nobody spoke yet: the first other participant is large, then everyone else in join order
  assert.equal(v.main, 'p1');
  assert.deepEqual(v.shown, ['p1', 'me', 'p2', 'p3', 'p4', 'p5']);
  l.setSpeakers(['p4', 'p2']);
  v = l.view();
  assert.equal(v.mode, 'speaker');
  assert.equal(v.main, 'p4');
  assert.equal(v.active, 'p4');
  assert.deepEqual(v.shown, ['p4', 'p2', 'me', 'p1', 'p3', 'p5']);
  // while we speak, the one who spoke before us stays large; our tile is highlighted
  l.setSpeakers(['me', 'p4', 'p2']);
  v = l.view();
  assert.equal(v.main, 'p4');
  assert.equal(v.active, 'me');
  assert.deepEqual(v.shown, ['p4', 'me', 'p2', 'p1', 'p3', 'p5']);
  // the main speaker leaves: the next recent one
  l.remove('p4');
  assert.equal(l.view().main, 'p2');
  // the mode is ignored when unknown
  l.setMode(/** @type {any} */ ('mosaic'));
  assert.equal(l.view().mode, 'speaker');
});

test('speaker view: the strip holds at most stripSize tiles; the rest are not on screen', () => {
  const l = meeting(24, { stripSize: 4 });
  l.setMode('speaker');
  l.setSpeakers(['p20', 'p3', 'p20']);
  const v = l.view();
  assert.equal(v.main, 'p20');
  assert.deepEqual(v.shown, ['p20', 'p3', 'me', 'p1', 'p2']);
  l.setStripSize(100);
  assert.equal(l.view().shown.length, 1 + STRIP_MAX);
  l.setStripSize(0);
  assert.equal(l.view().shown.length, 2);
  // back to the grid: the page chosen before is kept
  l.setMode('grid');
  l.setPage(1);
  l.setMode('speaker');
  l.setMode('grid');
  assert.equal(l.view().page, 1);
});

test('speaker view alone: our own tile', () => {
  const l = meeting(0);
  l.setMode('speaker');
  assert.deepEqual(l.view().shown, ['me']);
  assert.equal(l.view().main, 'me');
  const empty = new LayoutState();
  empty.setMode('speaker');
  assert.deepEqual(empty.view().shown, []);
  assert.equal(empty.view().main, null);
});

test('our id set late (after others were added) goes first; a rejoin renames it', () => {
  const l = new LayoutState();
  l.add('p1');
  l.add('p2');
  l.setSelf('me');
  assert.deepEqual(l.ids, ['me', 'p1', 'p2']);
  l.setSelf('me2');
  assert.deepEqual(l.ids, ['me2', 'me', 'p1', 'p2']);
  l.remove('me');
  assert.deepEqual(l.view().shown, ['me2', 'p1', 'p2']);
});
