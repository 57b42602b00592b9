// Unit tests of web/js/retry.js (pure: no DOM, virtual time): the backoff schedule, its cap and
// jitter, the limit, and the count that restarts only after a stable period — so a connection that
// breaks as soon as it comes up cannot be retried every 0.5 s forever.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Retry, RETRY, retryDelay, connectionStatus } from '../../web/js/retry.js';

const mid = () => 0.5; // no jitter

test('delays double from 0.5 s and stop growing at 10 s', () => {
  const got = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelay(n, mid));
  assert.deepEqual(got, [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
});

test('jitter stays within ±20 % and uses the random source', () => {
  assert.equal(retryDelay(1, () => 0), 400);
  assert.equal(retryDelay(1, () => 0.999999), 600);
  assert.equal(retryDelay(10, () => 0), 8000);
  assert.equal(retryDelay(10, () => 0.999999), 12000);
  let seed = 7;
  const lcg = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const delays = Array.from({ length: 50 }, () => retryDelay(3, lcg));
  assert.ok(delays.every((d) => d >= 1600 && d <= 2400), JSON.stringify(delays));
  assert.ok(new Set(delays).size > 10, 'jittered delays differ');
});

test('after maxAttempts failures it gives up; reset() starts again', () => {
  const r = new Retry({}, mid);
  let now = 0;
  const steps = [];
  for (let i = 0; i < RETRY.maxAttempts; i++) {
    const s = r.fail(now);
    steps.push(s);
    now += s.delayMs + 100;
  }
  assert.deepEqual(steps.map((s) => s.action), Array(RETRY.maxAttempts).fill('wait'));
  assert.deepEqual(steps.map((s) => s.attempt), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(r.fail(now), { action: 'give-up', attempt: RETRY.maxAttempts });
  assert.equal(r.gaveUp, true);
  r.reset();
  assert.equal(r.gaveUp, false);
  assert.deepEqual(r.fail(now), { action: 'wait', attempt: 1, delayMs: 500 });
});

test('a connection that works and breaks at once keeps counting: bounded tries, growing delays', () => {
  // The old behaviour this replaces: join, fail at once, rejoin 0.5 s later, forever (65 joins in 36 s).
  const r = new Retry({}, mid);
  let now = 0;
  let tries = 0;
  for (;;) {
    const s = r.fail(now);
    if (s.action === 'give-up') break;
    tries++;
    now += s.delayMs;
    r.ok(now); // it comes up...
    now += 300; // ...and breaks 0.3 s later
  }
  assert.equal(tries, RETRY.maxAttempts);
  assert.ok(now > 40000, `gave up after ${now} ms: the tries were spread out`);
  assert.ok(tries / (now / 36000) < 10, 'far fewer than 65 tries in 36 s');
});

test('a period marked unstable does not restart the count', () => {
  const r = new Retry({}, mid);
  r.fail(0);
  r.ok(1000);
  r.unstable(); // the server ended it (media-failed)
  assert.equal(r.fail(1000 + 2 * RETRY.stableMs).attempt, 2);
});

test('after working for stableMs the count starts again', () => {
  const r = new Retry({}, mid);
  r.fail(0);
  r.fail(1000);
  assert.equal(r.fail(3000).attempt, 3);
  r.ok(5000);
  r.ok(6000); // still the same working period
  assert.equal(r.fail(5000 + RETRY.stableMs - 1).attempt, 4); // not long enough
  r.ok(20000);
  assert.deepEqual(r.fail(20000 + RETRY.stableMs), { action: 'wait', attempt: 1, delayMs: 500 });
});

test('the banner: socket first, then media; "Try again" only once given up', () => {
  assert.equal(connectionStatus({ socket: null, media: {} }), null);
  assert.deepEqual(connectionStatus({ socket: { attempt: 2 }, media: { up: 'gave-up' } }),
    { text: 'Reconnecting… (attempt 2)', retry: false });
  assert.deepEqual(connectionStatus({ socket: 'gave-up', media: {} }), { text: 'Connection lost.', retry: true });
  assert.deepEqual(connectionStatus({ socket: null, media: { up: { attempt: 1 }, down: { attempt: 3 } } }),
    { text: 'Reconnecting audio and video… (attempt 3)', retry: false });
  assert.deepEqual(connectionStatus({ socket: null, media: { up: { attempt: 1 }, down: 'gave-up' } }),
    { text: 'Audio and video could not be reconnected.', retry: true });
});
