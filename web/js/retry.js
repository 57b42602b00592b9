// retry.js — when to try again after a connection broke: exponential backoff, capped, with jitter,
// and a limit after which the page stops and asks the person (PROTOCOL.md "Reconnecting").
//
// Owns: the count of consecutive failures of one connection (the signaling socket, or one media
// connection). Pure: no DOM, no timers, no clock of its own — the caller passes `now` (ms) and
// `random` is injectable, so it is unit-tested in virtual time (tests/web/retry.test.mjs).
//
// The count starts again only after the connection worked for `stableMs` in one go: a connection
// that comes up and breaks at once (a browser that cannot gather candidates, a server that closes
// every socket) keeps counting, so it cannot retry at the base delay forever.

/** The schedule: delay = min(maxMs, baseMs * factor^(attempt-1)) ± jitter; at most maxAttempts tries. */
export const RETRY = Object.freeze({
  baseMs: 500, factor: 2, maxMs: 10000, jitter: 0.2, maxAttempts: 8, stableMs: 10000,
});

/**
 * The delay before try number `attempt` (1-based).
 * @param {number} attempt
 * @param {() => number} [random]  in [0, 1)
 * @param {typeof RETRY} [opts]
 */
export function retryDelay(attempt, random = Math.random, opts = RETRY) {
  const raw = Math.min(opts.maxMs, opts.baseMs * opts.factor ** Math.max(0, attempt - 1));
  return Math.round(raw * (1 - opts.jitter + 2 * opts.jitter * random()));
}

/**
 * @typedef {{action: 'wait', attempt: number, delayMs: number} | {action: 'give-up', attempt: number}} RetryStep
 */

export class Retry {
  /**
   * @param {Partial<typeof RETRY>} [opts]
   * @param {() => number} [random]
   */
  constructor(opts = {}, random = Math.random) {
    this.opts = { ...RETRY, ...opts };
    this.random = random;
    /** consecutive failures since the connection last worked for stableMs */
    this.failures = 0;
    /** @type {number|null} since when it works (null: it does not) */
    this.okSince = null;
    this.gaveUp = false;
  }

  /** The connection works (again) from `now`. */
  ok(now) {
    if (this.okSince === null) this.okSince = now;
  }

  /** What came up did not really work (e.g. the server ended it for a media failure): the time it
   * was up does not count as a stable period. */
  unstable() {
    this.okSince = null;
  }

  /**
   * The connection broke, or a try failed, at `now`: what to do next.
   * @param {number} now
   * @returns {RetryStep}
   */
  fail(now) {
    if (this.okSince !== null && now - this.okSince >= this.opts.stableMs) this.failures = 0;
    this.okSince = null;
    this.failures++;
    if (this.failures > this.opts.maxAttempts) {
      this.gaveUp = true;
      return { action: 'give-up', attempt: this.failures - 1 };
    }
    return { action: 'wait', attempt: this.failures, delayMs: retryDelay(this.failures, this.random, this.opts) };
  }

  /** The person asked to try again: a fresh count. */
  reset() {
    this.failures = 0;
    this.okSince = null;
    this.gaveUp = false;
  }
}

/**
 * @typedef {object} ConnectionState
 * @property {null | {attempt: number} | 'gave-up'} socket  the signaling socket: fine, being reconnected, or given up
 * @property {Record<string, {attempt: number} | 'gave-up'>} media  media connections being repaired, by name
 */

/**
 * What the page says about its connection (the banner over the meeting): null when all is well.
 * @param {ConnectionState} s
 * @returns {{text: string, retry: boolean}|null}  retry: offer "Try again" (nothing retries by itself)
 */
export function connectionStatus(s) {
  if (s.socket === 'gave-up') return { text: 'Connection lost.', retry: true };
  if (s.socket) return { text: `Reconnecting… (attempt ${s.socket.attempt})`, retry: false };
  const media = Object.values(s.media);
  if (media.includes('gave-up')) return { text: 'Audio and video could not be reconnected.', retry: true };
  if (!media.length) return null;
  const attempt = Math.max(...media.map((m) => (m === 'gave-up' ? 0 : m.attempt)));
  return { text: `Reconnecting audio and video… (attempt ${attempt})`, retry: false };
}
