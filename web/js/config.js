// config.js — constants shared by the browser app, and the helpers that only depend on them.
//
// Owns: the meeting-id alphabet and its parser (PROTOCOL.md "Identifiers"), the default limits and
// media constraints, and loadConfig(), which asks the server for
// `/api/config` (iceServers and limits) and falls back to the defaults when that fails. The
// reconnect backoff is retry.js.
// No DOM code, no state besides constants: every function here is pure or only fetches.

/** Meeting ids are 8 characters of this alphabet (no i l o 0 1). */
export const MEETING_ID_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
export const MEETING_ID_LENGTH = 8;

/**
 * @typedef {object} AppConfig
 * @property {RTCIceServer[]} iceServers
 * @property {number} maxParticipants
 * @property {number} maxChatLength    in Unicode code points
 * @property {number} maxNameLength    in Unicode code points, after trimming
 */

/** @type {Readonly<AppConfig>} defaults, the same numbers as the server's (PROTOCOL.md). */
export const DEFAULT_CONFIG = Object.freeze({
  iceServers: [],
  maxParticipants: 50,
  maxChatLength: 1000,
  maxNameLength: 50,
});

/** Chat messages the server keeps for late joiners; the client keeps this many more in the panel. */
export const MAX_CHAT_ITEMS = 500;

/** getUserMedia constraints; a device id is added when the user picks one. */
export const MEDIA_CONSTRAINTS = Object.freeze({
  video: Object.freeze({
    width: { ideal: 1280 },
    height: { ideal: 720 },
    frameRate: { ideal: 30, max: 30 },
  }),
  audio: Object.freeze({
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
  }),
});

/** Liveness: a ping every intervalMs; no frame at all for timeoutMs after it means the socket is dead. */
export const KEEPALIVE = Object.freeze({ intervalMs: 15000, timeoutMs: 10000 });

/** How long "leave" waits for the server's `left` before it closes the socket anyway. */
export const LEAVE_TIMEOUT_MS = 1500;

/** localStorage key for the remembered display name. */
export const NAME_STORAGE_KEY = 'videomeet.username';

/**
 * Turns what a person typed or pasted (a code, a code with spaces or dashes, or a link such as
 * `http://host/m/abcd2345`) into a canonical lower-case meeting id, or null when it is not one.
 * @param {string} input
 * @returns {string|null}
 */
export function parseMeetingCode(input) {
  if (typeof input !== 'string') return null;
  let text = input.trim();
  // A link: take the part after the last "/m/" (a query or fragment ends it).
  const link = /\/m\/([^/?#]*)\/?(?:[?#].*)?$/i.exec(text);
  if (link) {
    try {
      text = decodeURIComponent(link[1]);
    } catch {
      return null;
    }
  }
  const code = text.replace(/[\s-]+/g, '').toLowerCase();
  return isMeetingId(code) ? code : null;
}

/**
 * True when `id` is exactly a canonical (lower-case) meeting id.
 * @param {string} id
 */
export function isMeetingId(id) {
  if (typeof id !== 'string' || id.length !== MEETING_ID_LENGTH) return false;
  for (const ch of id) {
    if (!MEETING_ID_ALPHABET.includes(ch)) return false;
  }
  return true;
}

/**
 * The meeting id in a location path `/m/<id>` (any case), or null. Other paths give null.
 * @param {string} pathname
 * @returns {{isMeetingPath: boolean, meetingId: string|null}}
 */
export function meetingIdFromPath(pathname) {
  const m = /^\/m\/([^/]*)\/?$/.exec(pathname);
  if (!m) return { isMeetingPath: false, meetingId: null };
  let raw = m[1];
  try {
    raw = decodeURIComponent(raw);
  } catch {
    return { isMeetingPath: true, meetingId: null };
  }
  const id = raw.toLowerCase();
  return { isMeetingPath: true, meetingId: isMeetingId(id) ? id : null };
}

/**
 * Number of Unicode code points in `s` (what the server's limits count).
 * @param {string} s
 */
export function codePointLength(s) {
  let n = 0;
  for (const _ of s) n++; // eslint-disable-line no-unused-vars
  return n;
}

/**
 * The WebSocket URL of the server that served this page.
 * @param {Location|URL} loc
 */
export function signalingUrl(loc) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws`;
}

/**
 * The shareable link of a meeting.
 * @param {Location|URL} loc
 * @param {string} meetingId
 */
export function meetingLink(loc, meetingId) {
  return `${loc.origin}/m/${meetingId}`;
}

/**
 * Asks the server for its config; any field that is missing or of the wrong type keeps its default.
 * @param {typeof fetch} [fetchImpl]
 * @returns {Promise<AppConfig>}
 */
export async function loadConfig(fetchImpl = fetch) {
  /** @type {AppConfig} */
  const cfg = { ...DEFAULT_CONFIG, iceServers: [] };
  try {
    const res = await fetchImpl('/api/config', { cache: 'no-store' });
    if (!res.ok) return cfg;
    const body = await res.json();
    if (body && Array.isArray(body.iceServers)) cfg.iceServers = body.iceServers;
    for (const key of /** @type {const} */ (['maxParticipants', 'maxChatLength', 'maxNameLength'])) {
      const v = body ? body[key] : undefined;
      if (Number.isInteger(v) && v > 0) cfg[key] = v;
    }
  } catch {
    // Offline or not JSON: the defaults are the server's own numbers.
  }
  return cfg;
}
