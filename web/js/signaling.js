// signaling.js — the WebSocket client of the VideoMeet signaling protocol (signaling/PROTOCOL.md).
//
// Owns: one WebSocket at a time, the JSON framing, the keepalive ping, and resuming (or, when that
// is refused, rejoining) after an unexpected close. It contains no DOM code: the app listens to its
// events and renders.
//
// Design
// - `SignalingClient` is an EventTarget. Every server message is dispatched as a CustomEvent whose
//   `type` is the message's `type` (`existing-users`, `user-joined`, `user-left`, `receive-message`,
//   `media-state`, `left`, `pong`, `error`) and whose `detail` is the parsed message object.
//   Transport events: `open`, `close` (detail {code, reason, expected}), `reconnecting`
//   (detail {attempt, delayMs}), `reconnected` (detail: the existing-users message), `gave-up`
//   (detail {attempt}: no more tries until retryNow()), `rejoin-failed`, `invalid`
//   (detail {data}: a frame that was not a JSON object with a string `type`).
// - join() remembers the meeting, name and media state, and the resume token of every
//   `existing-users`; sendMediaState() keeps that state current. When the socket closes while joined
//   (and leave()/close() did not ask for it), the client waits as retry.js says and opens a new
//   socket and sends `resume-meeting` with the token (PROTOCOL.md "Reconnecting"): the same
//   participant, same userId, same media connections. What rtc.js sends meanwhile waits in an outbox
//   and goes out after the resume, with the current media state. When the resume is refused (the
//   grace period is over), it sends `join-meeting` with the same name and media state instead: a new
//   participant. Either answer is dispatched as `existing-users` with `detail.rejoin === true` (and
//   `detail.resumed` true for a resume). An `error` answering that join (ref `join-meeting`) ends the
//   reconnecting and is dispatched as `rejoin-failed` (detail: the error message) instead of
//   `error`; the app decides. After RETRY.maxAttempts failed tries in a row it stops (`gave-up`).
// - Liveness: while open, a `ping` every KEEPALIVE.intervalMs; if no frame at all arrives within
//   KEEPALIVE.timeoutMs after it, the socket is treated as dead (closed, then rejoined as above).
// - Several nodes (PROTOCOL.md "Several nodes"): a `moved` answering our join (the meeting lives on
//   another node) makes the client open a socket to that node's /ws and send the same join there,
//   without the app noticing anything but a `moved` event; later reconnects go to that node too.
//   At most MAX_MOVES in a row (a misconfigured cluster must not bounce us for ever). A `moved` while
//   joined (the node drains: reason "draining") is followed the same way: the old socket is closed
//   (we leave there), and the join on the new node is answered as a rejoin (`existing-users` with
//   `rejoin` true, not resumed): the app keeps its chat and media state and sets up new connections.
// - A node that dies (PROTOCOL.md "Several nodes", "When a node dies"): every join answer of a node in
//   a cluster is preceded by `node-info`, which names the live nodes (kept in nodeUrls, dispatched as
//   `node-info`). When the socket is lost, each try goes to the first of: the node we were on, the
//   page's own node, the other known nodes, that has not refused a connection during this outage (all
//   refused: the list starts again). A try on another node than ours sends `join-meeting` at once (a
//   participant lives on one node: nobody else can resume it). A `moved` to a node that refused us in
//   this outage means that the cluster has not yet noticed that it is dead (its record lives 4-6 s
//   more): the same join is sent again on the same socket once deadNodeMs have passed since the loss,
//   then every second, until the meeting is placed on a live node.

import { KEEPALIVE, LEAVE_TIMEOUT_MS } from './config.js';
import { Retry } from './retry.js';
import { takesOut } from './errors.js';

/** Close code of a socket this client drops to reconnect: the server keeps the participant for a
 * resume (1000, 1001 or no code would mean "I am leaving"). */
const RECONNECT_CLOSE = 4000;
/** Media messages kept while the socket is down, at most. */
const OUTBOX_MAX = 500;
/** `moved` answers followed in a row before the join is given up. */
const MAX_MOVES = 3;
/** A dead node's record lives 4 to 6 s after it died (refreshed every 2 s, it expires 6 s after the
 * last refresh): a join that the cluster still sends to the dead node is asked again from DEAD_NODE_MS
 * after the loss, then every DEAD_NODE_RETRY_MS, until the meeting is placed on a live node. */
export const DEAD_NODE_MS = 4000;
const DEAD_NODE_RETRY_MS = 1000;
/** Joins sent again on one socket while waiting for the cluster to forget a dead node, at most. */
const MAX_DEAD_WAITS = 20;

/**
 * The WebSocket URL of the node a `moved` names: its public base URL (http[s]://host[:port]) with
 * ws[s]: and /ws; null when `url` is not such a URL.
 * @param {unknown} url
 * @returns {string|null}
 */
export function movedSocketUrl(url) {
  if (typeof url !== 'string') return null;
  let u;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  const base = u.pathname.replace(/\/+$/, '');
  return `${u.protocol === 'https:' ? 'wss:' : 'ws:'}//${u.host}${base}/ws`;
}

/**
 * @typedef {object} Participant
 * @property {string} userId
 * @property {string} username
 * @property {boolean} audio
 * @property {boolean} video
 * @property {number} joinedAt   ms since the Unix epoch
 */
/**
 * @typedef {object} ChatMessage
 * @property {number} id          rises within a meeting
 * @property {string} userId
 * @property {string} username
 * @property {string} message     plain text, never HTML
 * @property {number} timestamp   ms since the Unix epoch
 */
/**
 * @typedef {object} ExistingUsers
 * @property {'existing-users'} type
 * @property {string} meetingId
 * @property {string} userId            yours
 * @property {Participant[]} users      the others, in join order
 * @property {ChatMessage[]} chatHistory oldest first
 * @property {boolean} [rejoin]         added by this client: true when this answers an automatic rejoin
 * @property {boolean} [resumed]        true when the server resumed the same participant
 * @property {string} [resumeToken]     for the next resume
 */
/**
 * @typedef {object} ServerError
 * @property {'error'} type
 * @property {string} code
 * @property {string} message
 * @property {string} [ref]
 * @property {string} [reason]  server-busy: the limit hit ('connections', 'shutting-down', 'meetings', 'media-ports');
 *   rate-limited: which ('connections', 'meetings', 'unknown-meetings', 'messages', 'candidates')
 * @property {number} [retryAfter]  rate-limited: seconds until trying again may work
 * (the people-facing text of every code: errors.js)
 */
/** @typedef {{audio: boolean, video: boolean}} MediaFlags */

/** Message types the server sends (PROTOCOL.md "Server → client"). */
export const SERVER_TYPES = Object.freeze([
  'existing-users', 'user-joined', 'user-left', 'user-reconnecting', 'receive-message', 'media-state', 'left',
  'pong', 'error',
  'offer', 'answer', 'ice-candidate', 'video-layers', 'video-paused',
  'active-speakers', 'moved', 'node-info',
]);

/**
 * Where to try next after losing the socket: the first of `order` (deduplicated, nulls dropped) not
 * in `refused`; when every one refused, the first (the list starts again).
 * @param {(string|null|undefined)[]} order  the node we were on, the page's own node, the others
 * @param {Set<string>} refused  socket URLs that refused a connection in this outage
 * @returns {string|null}
 */
export function nextNodeUrl(order, refused) {
  const list = [...new Set(order.filter((u) => typeof u === 'string' && u))];
  return list.find((u) => !refused.has(u)) ?? list[0] ?? null;
}

export class SignalingClient extends EventTarget {
  constructor() {
    super();
    /** @type {WebSocket|null} */
    this.ws = null;
    /** @type {string|null} */
    this.url = null;
    /** @type {{meetingId: string, username: string, media: MediaFlags}|null} what to (re)join */
    this.session = null;
    /** True between existing-users and leave/close/a failed rejoin. */
    this.joined = false;
    /** @type {string|null} our userId in the current meeting */
    this.userId = null;
    /** True while the client is trying to rejoin after an unexpected close. */
    this.reconnecting = false;
    this.retry = new Retry();
    /** @type {{meetingId: string, userId: string, token: string}|null} what resumes us */
    this.resumeWith = null;
    /** @type {object[]} media messages sent while the socket was down, for after a resume */
    this.outbox = [];
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.retryTimer = null;
    /** @type {ReturnType<typeof setInterval>|null} */
    this.pingTimer = null;
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.deadTimer = null;
    /** Set once close() or leave() asked for the socket to close. */
    this.closing = false;
    /** `moved` answers followed since the last join answer. */
    this.moves = 0;
    /** @type {string|null} the socket URL connect() was given: the page's own node */
    this.homeUrl = null;
    /** @type {string|null} the socket URL of the node that last let us in */
    this.joinedUrl = null;
    /** @type {string[]} socket URLs of the live nodes of the cluster (the last `node-info`) */
    this.nodeUrls = [];
    /** @type {Set<string>} socket URLs that refused a connection since the socket was lost */
    this.refused = new Set();
    /** When the socket of a joined participant was lost (ms since the epoch), or 0. */
    this.lostAt = 0;
    /** Joins sent again while the cluster had not noticed a dead node yet, in this outage. */
    this.deadWaits = 0;
    /** See DEAD_NODE_MS (a property so that tests can shorten it). */
    this.deadNodeMs = DEAD_NODE_MS;
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.rejoinTimer = null;
  }

  /** True when the socket is open. */
  get connected() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * Opens the WebSocket. Resolves once it is open; rejects if it closes before opening.
   * @param {string} url  e.g. ws://host:port/ws
   * @returns {Promise<void>}
   */
  connect(url) {
    this.url = url;
    this.homeUrl = url;
    this.closing = false;
    return this.#open();
  }

  /** @returns {Promise<void>} */
  #open() {
    this.#dropSocket(RECONNECT_CLOSE);
    const url = /** @type {string} */ (this.url);
    const ws = new WebSocket(url);
    this.ws = ws;
    return new Promise((resolve, reject) => {
      let opened = false;
      ws.addEventListener('open', () => {
        if (this.ws !== ws) return;
        opened = true;
        this.#startKeepalive();
        this.#emit('open', {});
        resolve();
      });
      ws.addEventListener('message', (ev) => {
        if (this.ws === ws) this.#onFrame(ev.data);
      });
      ws.addEventListener('close', (ev) => {
        if (this.ws !== ws) return;
        if (!opened) {
          if (this.reconnecting) this.refused.add(url);
          reject(new Error(`WebSocket closed before opening (code ${ev.code})`));
        }
        this.#onClose(ev.code, ev.reason);
      });
      // 'error' is always followed by 'close'; nothing to do here (a listener all the same: ws, the
      // WebSocket of the tests under Node, throws an error nobody listens to).
      ws.addEventListener('error', () => {});
    });
  }

  /**
   * Sends `join-meeting`. The answer arrives as an `existing-users` or an `error` event; the
   * returned promise settles with it too (resolves with existing-users, rejects with the error
   * message object, or with an Error when the socket closes first).
   * @param {string} meetingId
   * @param {string} username
   * @param {MediaFlags} media
   * @returns {Promise<ExistingUsers>}
   */
  join(meetingId, username, media) {
    if (!this.connected) return Promise.reject(new Error('not connected'));
    this.session = { meetingId, username, media: { audio: !!media.audio, video: !!media.video } };
    this.resumeWith = null;
    this.retry.reset();
    this.moves = 0;
    const answer = this.#awaitJoinAnswer();
    this.#sendJoin();
    return answer;
  }

  /** @returns {Promise<ExistingUsers>} */
  #awaitJoinAnswer() {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        this.removeEventListener('existing-users', onUsers);
        this.removeEventListener('error', onError);
        this.removeEventListener('close', onClose);
      };
      const onUsers = (/** @type {Event} */ ev) => {
        cleanup();
        resolve(/** @type {CustomEvent} */ (ev).detail);
      };
      const onError = (/** @type {Event} */ ev) => {
        const err = /** @type {CustomEvent<ServerError>} */ (ev).detail;
        if (err.ref && err.ref !== 'join-meeting') return;
        cleanup();
        reject(err);
      };
      const onClose = () => {
        cleanup();
        reject(new Error('connection closed before the server answered'));
      };
      this.addEventListener('existing-users', onUsers);
      this.addEventListener('error', onError);
      this.addEventListener('close', onClose);
    });
  }

  /** After a reconnect: resume the participant when we can, else join again. */
  #sendResumeOrJoin() {
    const r = this.resumeWith;
    if (r) this.#send({ type: 'resume-meeting', meetingId: r.meetingId, userId: r.userId, resumeToken: r.token });
    else this.#sendJoin();
  }

  #sendJoin() {
    const s = /** @type {NonNullable<typeof this.session>} */ (this.session);
    this.#send({
      type: 'join-meeting',
      meetingId: s.meetingId,
      username: s.username,
      audio: s.media.audio,
      video: s.media.video,
    });
  }

  /**
   * Sends a chat message (the server stamps sender and time and echoes it as `receive-message`).
   * @param {string} message
   * @returns {boolean} false when the socket is not open
   */
  sendChat(message) {
    return this.#send({ type: 'chat-message', message });
  }

  /**
   * Sends our media state and remembers it for a rejoin.
   * @param {MediaFlags} media
   * @returns {boolean} false when the socket is not open (the state is still kept for the rejoin)
   */
  sendMediaState(media) {
    const m = { audio: !!media.audio, video: !!media.video };
    if (this.session) this.session.media = m;
    if (!this.joined) return false;
    return this.#send({ type: 'media-state', audio: m.audio, video: m.video });
  }

  /**
   * Leaves the meeting: sends `leave-meeting`, waits for `left` (at most LEAVE_TIMEOUT_MS),
   * then closes the socket. Never rejects.
   * @returns {Promise<void>}
   */
  async leave() {
    const wasJoined = this.joined && this.connected;
    this.session = null;
    this.joined = false;
    this.#stopReconnecting();
    if (wasJoined) {
      const left = new Promise((resolve) => {
        const timer = setTimeout(resolve, LEAVE_TIMEOUT_MS);
        const done = () => {
          clearTimeout(timer);
          this.removeEventListener('left', done);
          this.removeEventListener('close', done);
          resolve(undefined);
        };
        this.addEventListener('left', done);
        this.addEventListener('close', done);
      });
      this.#send({ type: 'leave-meeting' });
      await left;
    }
    this.close();
  }

  /** Closes the socket without rejoining. Safe to call at any time. */
  close() {
    const hadSocket = !!this.ws;
    this.closing = true;
    this.session = null;
    this.resumeWith = null;
    this.joined = false;
    this.userId = null;
    this.#stopReconnecting();
    this.#dropSocket();
    if (hadSocket) this.#emit('close', { code: 1000, reason: 'closed by client', expected: true });
  }

  /**
   * Sends a media message of rtc.js (`offer`, `answer`, `ice-candidate`, `ice-restart`) while joined;
   * while reconnecting it waits in the outbox and goes out if the participant is resumed.
   * @param {object} msg
   * @returns {boolean} false when it was neither sent nor kept
   */
  send(msg) {
    if (this.joined) return this.#send(msg);
    if (!this.reconnecting || !this.resumeWith || this.outbox.length >= OUTBOX_MAX) return false;
    this.outbox.push(msg);
    return true;
  }

  /** After `gave-up` (the person pressed "Try again"): a fresh count of tries, the first one now. */
  retryNow() {
    if (!this.session || this.joined) return;
    this.retry.reset();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.#tryAgain(0, 1);
  }

  /**
   * @param {object} msg
   * @returns {boolean}
   */
  #send(msg) {
    if (!this.connected) return false;
    /** @type {WebSocket} */ (this.ws).send(JSON.stringify(msg));
    return true;
  }

  /** @param {unknown} data */
  #onFrame(data) {
    this.#sawTraffic();
    /** @type {any} */
    let msg = null;
    if (typeof data === 'string') {
      try {
        msg = JSON.parse(data);
      } catch {
        msg = null;
      }
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg) || typeof msg.type !== 'string') {
      this.#emit('invalid', { data });
      return;
    }
    if (msg.type === 'moved') {
      this.#followMove(msg, data);
      return;
    }
    if (msg.type === 'node-info') {
      this.nodeUrls = Array.isArray(msg.nodes)
        ? msg.nodes.map(movedSocketUrl).filter((/** @type {string|null} */ u) => u !== null) : [];
      this.#emit('node-info', msg);
      return;
    }
    if (msg.type === 'existing-users') {
      const rejoin = this.reconnecting;
      this.moves = 0;
      this.joinedUrl = this.url;
      this.refused.clear();
      this.lostAt = 0;
      this.deadWaits = 0;
      this.joined = true;
      this.userId = typeof msg.userId === 'string' ? msg.userId : null;
      this.reconnecting = false;
      this.retry.ok(Date.now());
      msg.users = Array.isArray(msg.users) ? msg.users : [];
      msg.chatHistory = Array.isArray(msg.chatHistory) ? msg.chatHistory : [];
      msg.rejoin = rejoin;
      msg.resumed = rejoin && msg.resumed === true;
      this.resumeWith = typeof msg.resumeToken === 'string' && this.userId && this.session
        ? { meetingId: this.session.meetingId, userId: this.userId, token: msg.resumeToken } : null;
      const outbox = this.outbox;
      this.outbox = [];
      if (msg.resumed) {
        // The same participant: what rtc.js said meanwhile, and our media state, which may have
        // changed while we were away.
        for (const m of outbox) this.#send(m);
        const media = /** @type {NonNullable<typeof this.session>} */ (this.session).media;
        this.#send({ type: 'media-state', audio: media.audio, video: media.video });
      }
      this.#emit('existing-users', msg);
      if (rejoin) this.#emit('reconnected', msg);
      return;
    }
    if (msg.type === 'error' && this.reconnecting && msg.code === 'resume-refused') {
      // Gone (the grace period is over): come back as a new participant, on this socket.
      this.resumeWith = null;
      this.outbox = [];
      if (this.session) this.#sendJoin();
      return;
    }
    if (msg.type === 'left') this.joined = false;
    // The server ends our participation (a media connection it could not get back): coming back
    // does not start a fresh count of tries, so this cannot loop at the base delay.
    if (msg.type === 'error' && msg.code === 'media-failed') this.retry.unstable();
    const closesSocket = msg.reason === 'connections' || msg.reason === 'shutting-down';
    if (msg.type === 'error' && this.reconnecting && (msg.code === 'server-busy' || msg.code === 'rate-limited') &&
        closesSocket) {
      return; // the server closes this socket now; the next try follows by itself
    }
    if (msg.type === 'error' && this.joined && takesOut(msg)) {
      // The server took us out of the meeting (no UDP port for our media, or it could not set our
      // media up): no rejoin, the app decides.
      this.joined = false;
      this.session = null;
    }
    if (msg.type === 'error' && this.reconnecting && (!msg.ref || msg.ref === 'join-meeting')) {
      // The rejoin was refused (meeting-full, ...): stop here and let the app decide.
      this.reconnecting = false;
      this.session = null;
      this.resumeWith = null;
      this.#emit('rejoin-failed', msg);
      return;
    }
    if (SERVER_TYPES.includes(msg.type)) this.#emit(msg.type, msg);
    else this.#emit('invalid', { data });
  }

  /**
   * `moved`: our meeting lives on another node; join (or rejoin) there on a new socket.
   * @param {any} msg
   * @param {unknown} data
   */
  #followMove(msg, data) {
    const url = movedSocketUrl(msg.url);
    if (url && this.reconnecting && this.refused.has(url) && this.session && !this.joined &&
        msg.meetingId === this.session.meetingId && this.deadWaits < MAX_DEAD_WAITS) {
      // The owner is the node we lost: the cluster has not noticed yet. Ask again on this socket.
      this.deadWaits++;
      const wait = Math.max(DEAD_NODE_RETRY_MS, this.lostAt + this.deadNodeMs - Date.now());
      const ws = this.ws;
      if (this.rejoinTimer) clearTimeout(this.rejoinTimer);
      this.rejoinTimer = setTimeout(() => {
        this.rejoinTimer = null;
        if (this.ws === ws && this.session && !this.joined && this.reconnecting) this.#sendJoin();
      }, wait);
      return;
    }
    if (!url || !this.session || msg.meetingId !== this.session.meetingId || this.moves >= MAX_MOVES) {
      this.#emit('invalid', { data });
      return;
    }
    const midMeeting = this.joined; // our node drains (PROTOCOL.md "Draining a node"): rejoin there
    this.moves++;
    this.url = url;
    this.resumeWith = null; // a participant lives on one node: the new one cannot resume it
    if (midMeeting) {
      // Leave the old node (close 1000: no resume kept there) and come back on the new one as on a
      // reconnect whose resume was refused: the answer is an existing-users with rejoin true.
      this.joined = false;
      this.reconnecting = true;
      this.outbox = [];
      this.#dropSocket(1000);
    }
    this.#emit('moved', { ...msg, wsUrl: url, midMeeting });
    this.#open().then(() => {
      if (this.session && !this.joined) this.#sendJoin();
    }, () => { /* #onClose reports it (and the pending join() rejects) */ });
  }

  /**
   * @param {number} code
   * @param {string} reason
   */
  #onClose(code, reason) {
    this.#stopKeepalive();
    this.ws = null;
    const expected = this.closing;
    const wasJoined = this.joined || this.reconnecting;
    if (this.joined) {
      this.lostAt = Date.now();
      this.refused.clear();
      this.deadWaits = 0;
    }
    this.joined = false;
    this.#emit('close', { code, reason, expected });
    if (!expected && wasJoined && this.session) this.#scheduleReconnect();
  }

  #scheduleReconnect() {
    const step = this.retry.fail(Date.now());
    if (step.action === 'give-up') {
      this.reconnecting = true; // still ours to resume, once the person asks (retryNow)
      this.#emit('gave-up', { attempt: step.attempt });
      return;
    }
    this.#tryAgain(step.delayMs, step.attempt);
  }

  /** @param {number} delayMs @param {number} attempt */
  #tryAgain(delayMs, attempt) {
    this.reconnecting = true;
    this.#emit('reconnecting', { attempt, delayMs });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.session || this.closing) return;
      this.url = nextNodeUrl([this.joinedUrl, this.homeUrl, ...this.nodeUrls], this.refused) ?? this.url;
      this.moves = 0;
      this.#open().then(() => {
        if (!this.session) return;
        if (this.joinedUrl && this.url !== this.joinedUrl) this.resumeWith = null; // not resumable there
        this.#sendResumeOrJoin();
      }, () => {
        // #onClose already scheduled the next try.
      });
    }, delayMs);
  }

  #stopReconnecting() {
    this.reconnecting = false;
    this.outbox = [];
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.rejoinTimer) clearTimeout(this.rejoinTimer);
    this.rejoinTimer = null;
  }

  #startKeepalive() {
    this.#stopKeepalive();
    this.pingTimer = setInterval(() => {
      if (!this.#send({ type: 'ping' })) return;
      if (!this.deadTimer) {
        this.deadTimer = setTimeout(() => {
          // Nothing came back: the path is dead even if the socket does not know it yet.
          this.deadTimer = null;
          this.#dropSocket(RECONNECT_CLOSE);
          this.#onClose(RECONNECT_CLOSE, 'keepalive timeout');
        }, KEEPALIVE.timeoutMs);
      }
    }, KEEPALIVE.intervalMs);
  }

  #sawTraffic() {
    if (this.deadTimer) clearTimeout(this.deadTimer);
    this.deadTimer = null;
  }

  #stopKeepalive() {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.#sawTraffic();
  }

  /**
   * Forgets the current socket (closing it if needed) without dispatching its close.
   * @param {number} [code]  1000: we leave; RECONNECT_CLOSE: we come back on another socket
   */
  #dropSocket(code = 1000) {
    this.#stopKeepalive();
    const ws = this.ws;
    this.ws = null;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) {
      ws.close(code, code === 1000 ? 'bye' : 'reconnecting');
    }
  }

  /**
   * @param {string} type
   * @param {object} detail
   */
  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
