// errors.js — what the page tells people about the server's `error` messages
// (signaling/PROTOCOL.md "Errors"): a sentence for every error code, and for every reason of
// `server-busy`, never the server's own English (which is written for developers: "offer: bad SDP at
// line 3"). Pure: no DOM; app.js shows the text. tests/web/errors.test.mjs checks that every code and
// reason PROTOCOL.md lists has its sentence here.

/** @typedef {import('./signaling.js').ServerError} ServerError */

/** One sentence per error code. */
export const ERROR_TEXT = Object.freeze({
  'bad-json': 'The app sent the server something it could not read. Reload the page.',
  'invalid-utf8': 'The app sent the server something it could not read. Reload the page.',
  'unknown-type': 'This page and the server do not understand each other. Reload the page.',
  'invalid-field': 'The server refused a request of this page. Reload the page.',
  'too-long': 'That is too long.',
  'invalid-meeting-id': 'That meeting code is not valid.',
  'not-in-meeting': 'You are not in the meeting any more.',
  'already-joined': 'You are already in this meeting.',
  'meeting-full': 'This meeting is full. Try again later.',
  'rate-limited': 'You are sending messages too fast. Wait a moment.',
  'too-large': 'That message is too large for the server.',
  'server-busy': 'The server is busy. Try again in a moment.',
  'bad-sdp': 'Your browser and the server could not agree on how to send audio and video. Reload the page, or try another browser.',
  'media-failed': 'The audio and video connection to the server failed. Check your network, then join again.',
  'internal': 'Something went wrong on the server while connecting your audio and video. Join the meeting again.',
  'resume-refused': 'Your place in the meeting could not be kept. Join the meeting again.',
});

/** server-busy: one sentence per limit (`reason`). */
export const BUSY_TEXT = Object.freeze({
  connections: 'The server has too many connections right now. Try again in a moment.',
  'shutting-down': 'The server is restarting. Try again in a moment.',
  meetings: 'The server cannot start another meeting right now. Try again later.',
  'media-ports': 'The server is full: it has no free media connections for another person right now. Try again in a few minutes.',
  cluster: 'New meetings cannot be started right now: the servers cannot reach each other. Try again in a moment.',
  draining: 'This server is being taken down for maintenance and no other server can start a new meeting now. Try again in a few minutes.',
});

/** rate-limited: one sentence per limit of the client's address (`reason`), followed by the wait. */
export const LIMIT_TEXT = Object.freeze({
  connections: 'Too many connections from your network.',
  meetings: 'Too many meetings were started from your network.',
  'unknown-meetings': 'Too many meeting codes that do not exist were tried from your network.',
  messages: 'This page sent the server too much too fast.',
  candidates: 'Your device offered the server too many network addresses.',
});

const FALLBACK = 'Something went wrong. Try again.';

/**
 * The sentence for a server error.
 * @param {ServerError} err
 * @returns {string}
 */
export function errorText(err) {
  if (err.code === 'server-busy' && err.reason === 'media-ports' && !err.ref) {
    return 'The server is full: it ran out of media connections and took you out of the meeting. Try again in a few minutes.';
  }
  if (err.code === 'server-busy' && err.reason && Object.hasOwn(BUSY_TEXT, err.reason)) {
    return BUSY_TEXT[/** @type {keyof typeof BUSY_TEXT} */ (err.reason)];
  }
  if (err.code === 'too-long' && err.ref === 'join-meeting') return 'That name is too long.';
  if (err.code === 'too-long' && err.ref === 'chat-message') return 'That message is too long.';
  if (err.code === 'rate-limited' && err.reason && Object.hasOwn(LIMIT_TEXT, err.reason)) {
    const wait = err.retryAfter ? `Try again in ${err.retryAfter} s.` : 'Try again in a moment.';
    return `${LIMIT_TEXT[/** @type {keyof typeof LIMIT_TEXT} */ (err.reason)]} ${wait}`;
  }
  return Object.hasOwn(ERROR_TEXT, err.code) ? ERROR_TEXT[/** @type {keyof typeof ERROR_TEXT} */ (err.code)] : FALLBACK;
}

/**
 * Whether the server took us out of the meeting with this error (the socket stays open): no media
 * port for one of our connections, or media it could not set up.
 * @param {ServerError} err
 */
export function takesOut(err) {
  return !err.ref && ((err.code === 'server-busy' && err.reason === 'media-ports') || err.code === 'internal');
}
