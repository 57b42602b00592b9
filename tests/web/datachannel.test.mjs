// Unit tests of web/js/datachannel.js (pure: no DOM, a fake RTCDataChannel): the message format of
// PROTOCOL.md "Data channel" (what the app sends; what it accepts from the SFU's relay, and what
// it ignores), and DataLink: hello on open, messages queued while connecting, events.
import test from 'node:test';
import assert from 'node:assert/strict';
import { encodeReaction, encodeHand, encodeHello, decode, DataLink, REACTIONS, LABEL } from '../../web/js/datachannel.js';

test('encode: reactions from the list only, hands as booleans', () => {
  assert.equal(LABEL, 'vm');
  assert.equal(encodeReaction('🎉'), '{"t":"reaction","emoji":"🎉"}');
  assert.throws(() => encodeReaction('<b>'));
  assert.equal(encodeHand(true), '{"t":"hand","up":true}');
  assert.equal(encodeHand(false), '{"t":"hand","up":false}');
  assert.equal(encodeHello(), '{"t":"hello"}');
});

test('decode: "<userId>\\n<json>" as the SFU relays it; anything else is ignored', () => {
  assert.deepEqual(decode('u1\n{"t":"reaction","emoji":"👍"}'), { userId: 'u1', type: 'reaction', emoji: '👍' });
  assert.deepEqual(decode('u2\n{"t":"hand","up":false}'), { userId: 'u2', type: 'hand', up: false });
  assert.deepEqual(decode('u3\n{"t":"hello"}'), { userId: 'u3', type: 'hello' });
  for (const bad of [
    '{"t":"hand","up":true}', // no sender
    '\n{"t":"hand","up":true}', // empty sender
    'u1\n{"t":"reaction","emoji":"<img src=x>"}', // not one of REACTIONS
    'u1\n{"t":"hand","up":"yes"}',
    'u1\n{"t":"other"}',
    'u1\nnot json',
    'u1\nnull',
    'u1\n[1]',
    new ArrayBuffer(4),
    'u1\n' + 'x'.repeat(5000),
  ]) assert.equal(decode(bad), null, String(bad).slice(0, 40));
  assert.equal(REACTIONS.length, 6);
});

class FakeChannel {
  constructor() {
    this.readyState = 'connecting';
    this.sent = [];
    this.onopen = null;
    this.onmessage = null;
  }
  send(t) {
    this.sent.push(t);
  }
  open() {
    this.readyState = 'open';
    this.onopen();
  }
}

test('DataLink: queued while connecting, hello first on open, events for what arrives', () => {
  const ch = new FakeChannel();
  const link = new DataLink(/** @type {any} */ (ch));
  const events = [];
  for (const type of ['reaction', 'hand', 'hello', 'open']) {
    link.addEventListener(type, (e) => events.push([type, /** @type {CustomEvent} */ (e).detail]));
  }
  link.hand(true);
  assert.deepEqual(ch.sent, []);
  assert.equal(link.open, false);
  ch.open();
  assert.deepEqual(ch.sent, ['{"t":"hello"}', '{"t":"hand","up":true}']);
  link.react('👏');
  assert.equal(ch.sent.at(-1), '{"t":"reaction","emoji":"👏"}');
  ch.onmessage({ data: 'a\n{"t":"reaction","emoji":"👏"}' });
  ch.onmessage({ data: 'b\n{"t":"hand","up":true}' });
  ch.onmessage({ data: 'c\n{"t":"hello"}' });
  ch.onmessage({ data: 'junk' });
  assert.deepEqual(events, [
    ['open', null],
    ['reaction', { userId: 'a', emoji: '👏' }],
    ['hand', { userId: 'b', up: true }],
    ['hello', { userId: 'c' }],
  ]);
  ch.readyState = 'closed';
  link.hand(false); // dropped, no throw
  assert.equal(ch.sent.length, 3);
});
