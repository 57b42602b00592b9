// signaling.js — the WebSocket client of the VideoMeet signaling protocol (signaling/PROTOCOL.md).
//
// Owns: one WebSocket at a time, the JSON framing, the keepalive ping, and rejoining after an
// unexpected close. It contains no DOM code: the app listens to its events and renders.
//
// Design
// - `SignalingClient` is an EventTarget. Every server message is dispatched as a CustomEvent whose
//   `type` is the message's `type` (`existing-users`, `user-joined`, `user-left`, `receive-message`,
//   `media-state`, `left`, `pong`, `error`) and whose `detail` is the parsed message object.
//   Transport events: `open`, `close` (detail {code, reason, expected}), `reconnecting`
//   (detail {attempt, delayMs}), `reconnected` (detail: the existing-users message), `rejoin-failed`,
//   `invalid`
//   (detail {data}: a frame that was not a JSON object with a string `type`).
// - join() remembers the meeting, name and media state; sendMediaState() keeps that state current.
//   When the socket closes while joined (and leave()/close() did not ask for it), the client waits
//   `reconnectDelay(attempt)` and opens a new socket, sends `join-meeting` again with the same name
//   and the current media state, and dispatches `existing-users` again with `detail.rejoin === true`.
//   An `error` answering that rejoin (ref `join-meeting`) ends the reconnecting and is dispatched
//   as `rejoin-failed` (detail: the error message) instead of `error`; the app decides.
// - Liveness: while open, a `ping` every KEEPALIVE.intervalMs; if no frame at all arrives within
//   KEEPALIVE.timeoutMs after it, the socket is treated as dead (closed, then rejoined as above).

import { KEEPALIVE, LEAVE_TIMEOUT_MS, reconnectDelay } from './config.js';

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
 */
/**
 * @typedef {object} ServerError
 * @property {'error'} type
 * @property {string} code
 * @property {string} message
 * @property {string} [ref]
 * @property {string} [reason]  server-busy: the limit hit ('connections', 'shutting-down', 'meetings', 'media-ports')
 */
/** @typedef {{audio: boolean, video: boolean}} MediaFlags */

/** Message types the server sends (PROTOCOL.md "Server → client"). */
export const SERVER_TYPES = Object.freeze([
  'existing-users', 'user-joined', 'user-left', 'receive-message', 'media-state', 'left', 'pong', 'error',
  'offer', 'answer', 'ice-candidate', 'video-layers', 'video-paused',
]);

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
    this.attempt = 0;
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.retryTimer = null;
    /** @type {ReturnType<typeof setInterval>|null} */
    this.pingTimer = null;
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.deadTimer = null;
    /** Set once close() or leave() asked for the socket to close. */
    this.closing = false;
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
    this.closing = false;
    return this.#open();
  }

  /** @returns {Promise<void>} */
  #open() {
    this.#dropSocket();
    const ws = new WebSocket(/** @type {string} */ (this.url));
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
        if (!opened) reject(new Error(`WebSocket closed before opening (code ${ev.code})`));
        this.#onClose(ev.code, ev.reason);
      });
      // 'error' is always followed by 'close'; nothing to do here.
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
    this.joined = false;
    this.userId = null;
    this.#stopReconnecting();
    this.#dropSocket();
    if (hadSocket) this.#emit('close', { code: 1000, reason: 'closed by client', expected: true });
  }

  /**
   * Sends a media message of rtc.js (`offer`, `answer`, `ice-candidate`) while joined.
   * @param {object} msg
   * @returns {boolean} false when not connected
   */
  send(msg) {
    return this.joined && this.#send(msg);
  }

  /** Drops the socket and rejoins as after an unexpected close (e.g. the media connection failed). */
  reconnectNow() {
    if (!this.joined || !this.ws) return;
    this.#dropSocket();
    this.#onClose(4001, 'media connection failed');
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
    if (msg.type === 'existing-users') {
      const rejoin = this.reconnecting;
      this.joined = true;
      this.userId = typeof msg.userId === 'string' ? msg.userId : null;
      this.reconnecting = false;
      this.attempt = 0;
      msg.users = Array.isArray(msg.users) ? msg.users : [];
      msg.chatHistory = Array.isArray(msg.chatHistory) ? msg.chatHistory : [];
      msg.rejoin = rejoin;
      this.#emit('existing-users', msg);
      if (rejoin) this.#emit('reconnected', msg);
      return;
    }
    if (msg.type === 'left') this.joined = false;
    const closesSocket = msg.reason === 'connections' || msg.reason === 'shutting-down';
    if (msg.type === 'error' && this.reconnecting && msg.code === 'server-busy' && closesSocket) {
      return; // the server closes this socket now; the next try follows by itself
    }
    if (msg.type === 'error' && this.joined && !msg.ref && msg.code === 'server-busy' && msg.reason === 'media-ports') {
      // The server took us out of the meeting (no UDP port for our media): no rejoin, the app decides.
      this.joined = false;
      this.session = null;
    }
    if (msg.type === 'error' && this.reconnecting && (!msg.ref || msg.ref === 'join-meeting')) {
      // The rejoin was refused (meeting-full, ...): stop here and let the app decide.
      this.reconnecting = false;
      this.attempt = 0;
      this.session = null;
      this.#emit('rejoin-failed', msg);
      return;
    }
    if (SERVER_TYPES.includes(msg.type)) this.#emit(msg.type, msg);
    else this.#emit('invalid', { data });
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
    this.joined = false;
    this.#emit('close', { code, reason, expected });
    if (!expected && wasJoined && this.session) this.#scheduleReconnect();
  }

  #scheduleReconnect() {
    this.reconnecting = true;
    const delayMs = reconnectDelay(this.attempt);
    this.#emit('reconnecting', { attempt: this.attempt + 1, delayMs });
    this.attempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.session || this.closing) return;
      this.#open().then(() => {
        if (this.session) this.#sendJoin();
      }, () => {
        // #onClose already scheduled the next try.
      });
    }, delayMs);
  }

  #stopReconnecting() {
    this.reconnecting = false;
    this.attempt = 0;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  #startKeepalive() {
    this.#stopKeepalive();
    this.pingTimer = setInterval(() => {
      if (!this.#send({ type: 'ping' })) return;
      if (!this.deadTimer) {
        this.deadTimer = setTimeout(() => {
          // Nothing came back: the path is dead even if the socket does not know it yet.
          this.deadTimer = null;
          this.#dropSocket();
          this.#onClose(4000, 'keepalive timeout');
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

  /** Forgets the current socket (closing it if needed) without dispatching its close. */
  #dropSocket() {
    this.#stopKeepalive();
    const ws = this.ws;
    this.ws = null;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) {
      ws.close(1000, 'bye');
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
