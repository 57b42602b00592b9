// Unit tests of web/js/errors.js (pure, no DOM): every error code and every server-busy reason that
// signaling/PROTOCOL.md lists has a sentence of its own for people, and the server's own English
// (written for developers) never reaches the page.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_TEXT, BUSY_TEXT, LIMIT_TEXT, errorText, takesOut } from '../../web/js/errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const protocol = fs.readFileSync(path.join(here, '../../signaling/PROTOCOL.md'), 'utf8');

/** The first column of the markdown table that follows `heading` (a line starting with it). */
function firstColumn(afterLine) {
  const lines = protocol.split('\n');
  let i = lines.findIndex((l) => l.startsWith(afterLine));
  assert.ok(i >= 0, `PROTOCOL.md has "${afterLine}"`);
  while (!lines[i].startsWith('|')) i++;
  const out = [];
  for (i += 2; i < lines.length && lines[i].startsWith('|'); i++) {
    const m = /^\| `([a-z0-9-]+)` \|/.exec(lines[i]);
    if (m) out.push(m[1]);
  }
  return [...new Set(out)];
}

const codes = firstColumn('## Errors');
const reasons = firstColumn('`server-busy` reasons:');
const limits = firstColumn('`rate-limited` reasons');

test('PROTOCOL.md lists the error codes and the server-busy reasons (the tables this test reads)', () => {
  assert.ok(codes.length >= 16, codes.join());
  for (const c of ['bad-sdp', 'media-failed', 'internal', 'server-busy', 'resume-refused']) assert.ok(codes.includes(c), c);
  assert.deepEqual(reasons.filter((r) => ['connections', 'shutting-down', 'meetings', 'media-ports'].includes(r)).length, 4);
});

test('every error code has its own sentence, not the server text and not the fallback', () => {
  const fallback = errorText({ type: 'error', code: 'no-such-code', message: 'x' });
  for (const code of codes) {
    assert.ok(Object.hasOwn(ERROR_TEXT, code), `no text for ${code}`);
    const serverText = `SERVER TEXT for ${code}: offer: bad SDP at line 3`;
    const text = errorText({ type: 'error', code, message: serverText });
    assert.notEqual(text, fallback, code);
    assert.ok(!text.includes('SERVER TEXT'), `${code} shows the server's text`);
    assert.match(text, /^[A-Z].*\.$/, `${code}: a sentence: ${text}`);
  }
});

test('every server-busy reason has its own sentence', () => {
  for (const reason of reasons) {
    assert.ok(Object.hasOwn(BUSY_TEXT, reason), `no text for server-busy ${reason}`);
    assert.equal(errorText({ type: 'error', code: 'server-busy', message: 'm', reason, ref: 'join-meeting' }), BUSY_TEXT[reason]);
  }
  // media-ports without ref: we were in the meeting and were taken out
  assert.match(errorText({ type: 'error', code: 'server-busy', message: 'm', reason: 'media-ports' }), /took you out/);
  // a reason this page does not know yet: the code's sentence
  assert.equal(errorText({ type: 'error', code: 'server-busy', message: 'm', reason: 'future' }), ERROR_TEXT['server-busy']);
});

test('every rate-limited reason has its own sentence, with the wait', () => {
  assert.ok(limits.length >= 5, limits.join());
  for (const reason of limits) {
    assert.ok(Object.hasOwn(LIMIT_TEXT, reason), `no text for rate-limited ${reason}`);
    const text = errorText({ type: 'error', code: 'rate-limited', message: 'SERVER TEXT', reason, retryAfter: 7 });
    assert.equal(text, `${LIMIT_TEXT[reason]} Try again in 7 s.`);
  }
  assert.match(errorText({ type: 'error', code: 'rate-limited', message: 'm', reason: 'meetings' }), /in a moment\.$/);
});

test('the sentences for the media errors say what to do', () => {
  assert.match(errorText({ type: 'error', code: 'bad-sdp', message: 'answer: no offer is pending', ref: 'answer' }), /Reload/);
  assert.match(errorText({ type: 'error', code: 'media-failed', message: 'ICE failed or consent lost' }), /join again/);
  assert.match(errorText({ type: 'error', code: 'internal', message: 'the server could not make the receiving connection' }), /Join the meeting again/);
  assert.equal(errorText({ type: 'error', code: 'too-long', message: 'm', ref: 'join-meeting' }), 'That name is too long.');
  assert.equal(errorText({ type: 'error', code: 'too-long', message: 'm', ref: 'chat-message' }), 'That message is too long.');
  assert.equal(errorText({ type: 'error', code: 'no-such-code', message: 'raw' }), 'Something went wrong. Try again.');
});

test('takesOut: the errors after which we are no longer in the meeting but the socket stays open', () => {
  assert.equal(takesOut({ type: 'error', code: 'internal', message: 'm' }), true);
  assert.equal(takesOut({ type: 'error', code: 'server-busy', reason: 'media-ports', message: 'm' }), true);
  assert.equal(takesOut({ type: 'error', code: 'server-busy', reason: 'media-ports', ref: 'join-meeting', message: 'm' }), false);
  assert.equal(takesOut({ type: 'error', code: 'bad-sdp', ref: 'offer', message: 'm' }), false);
  assert.equal(takesOut({ type: 'error', code: 'meeting-full', ref: 'join-meeting', message: 'm' }), false);
});
