// A small promise-based WebSocket client for the protocol tests (signaling/PROTOCOL.md).
//
// Design: every frame the server sends is recorded in `received` (parsed JSON, or a marker object for
// frames that are not JSON text). A separate `pending` queue holds the messages no test has consumed
// yet; `next(type)` takes the oldest pending message of that type, or waits for one with a timeout,
// so a test can wait for messages in any order without losing the others. Every wait is bounded.
// Helpers in this file assert nothing about the protocol except where their name says so
// (`expectError`, `join`, `ping`); the tests make the assertions.
import WebSocket from 'ws';
import net from 'node:net';
import assert from 'node:assert/strict';

export const DEFAULT_TIMEOUT_MS = 3000;
export const MEETING_ID_RE = /^[abcdefghjkmnpqrstuvwxyz23456789]{8}$/;
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A random well-formed meeting id (the tests make their own so meetings never collide). */
export function randomMeetingId() {
  let id = '';
  for (let i = 0; i < 8; i++) id += ALPHABET[Math.floor(Math.random() * ALPHABET.length)];
  return id;
}

function describeFrame(m) {
  const s = String(JSON.stringify(m));
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

export class Client {
  /** Use connect() rather than the constructor. */
  constructor(ws, name) {
    this.ws = ws;
    this.name = name;
    /** Every frame received, in order: parsed objects, or {type:'__binary__'|'__not-json__', raw}. */
    this.received = [];
    this.pending = [];
    this.waiters = [];
    /** Set once the socket closed: {code, reason}. */
    this.closeInfo = null;
    this.closedPromise = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        this._wake();
        resolve(this.closeInfo);
      });
    });
    ws.on('error', (err) => { this.lastError = err; });
    ws.on('message', (data, isBinary) => {
      let msg;
      if (isBinary) {
        msg = { type: '__binary__', raw: Buffer.from(data) };
      } else {
        try {
          msg = JSON.parse(data.toString('utf8'));
        } catch {
          msg = { type: '__not-json__', raw: data.toString('utf8') };
        }
      }
      this.received.push(msg);
      this.pending.push(msg);
      this._wake();
    });
  }

  _wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  _take(pred) {
    const i = this.pending.findIndex(pred);
    if (i < 0) return undefined;
    return this.pending.splice(i, 1)[0];
  }

  /** Sends one JSON value as a text frame. */
  send(obj) {
    this.ws.send(JSON.stringify(obj));
  }

  /**
   * Sends raw data. A string goes as a text frame; a Buffer as binary unless opts.binary === false
   * (ws then sends the bytes as a text frame unchecked, which is how invalid UTF-8 is produced).
   * opts.fin === false sends a fragment of a message (continued by the next sendRaw).
   */
  sendRaw(data, opts = {}) {
    return new Promise((resolve, reject) => {
      this.ws.send(data, opts, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Resolves with the next not yet consumed message matching `type` (a string, or a predicate on the
   * message). Rejects after timeoutMs, or when the socket closes before such a message came.
   */
  next(type, timeoutMs = DEFAULT_TIMEOUT_MS) {
    const pred = typeof type === 'function' ? type : (m) => m && m.type === type;
    const what = typeof type === 'function' ? 'matching message' : `"${type}"`;
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = this._take(pred);
        if (m !== undefined) {
          clearTimeout(timer);
          resolve(m);
          return;
        }
        if (this.closeInfo) {
          clearTimeout(timer);
          reject(new Error(`${this.name}: socket closed (${this.closeInfo.code}) while waiting for ${what}; ` +
            `received: ${this.received.map(describeFrame).join(' | ')}`));
          return;
        }
        this.waiters.push(check);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms; ` +
          `received: ${this.received.map(describeFrame).join(' | ')}`));
      }, timeoutMs);
      check();
    });
  }

  /** Fails when a message matching `type` is pending or arrives within ms. */
  async expectNone(type, ms = 300) {
    const pred = typeof type === 'function' ? type : (m) => m && m.type === type;
    await sleep(ms);
    const hit = this.pending.find(pred);
    assert.equal(hit, undefined, `${this.name}: unexpected message ${describeFrame(hit)}`);
  }

  /** Waits for the next `error` and asserts its code (and ref, when the server sent one). */
  async expectError(code, ref, timeoutMs = DEFAULT_TIMEOUT_MS) {
    const m = await this.next('error', timeoutMs);
    assert.equal(m.code, code, `${this.name}: expected error ${code}, got ${describeFrame(m)}`);
    assert.equal(typeof m.message, 'string', `error without a message: ${describeFrame(m)}`);
    assert.ok(m.message.length > 0, `error with an empty message: ${describeFrame(m)}`);
    if (ref !== undefined && 'ref' in m) assert.equal(m.ref, ref, `error ref: ${describeFrame(m)}`);
    return m;
  }

  /** Sends ping and waits for pong: proves the socket is still open and served. */
  async ping(timeoutMs = DEFAULT_TIMEOUT_MS) {
    this.send({ type: 'ping' });
    const m = await this.next('pong', timeoutMs);
    assert.equal(m.type, 'pong');
    return m;
  }

  /**
   * Sends join-meeting and waits for existing-users (which it returns), failing on an error.
   * `extra` adds fields (audio, video).
   */
  async join(meetingId, username, extra = {}, timeoutMs = DEFAULT_TIMEOUT_MS) {
    this.send({ type: 'join-meeting', meetingId, username, ...extra });
    const m = await this.next((x) => x && (x.type === 'existing-users' || x.type === 'error'), timeoutMs);
    assert.equal(m.type, 'existing-users', `${this.name}: join failed: ${describeFrame(m)}`);
    this.userId = m.userId;
    return m;
  }

  /** Messages of a type received so far (consumed or not). */
  all(type) {
    return this.received.filter((m) => m && m.type === type);
  }

  /** Resolves with {code, reason} once the socket closed; rejects after timeoutMs. */
  waitClose(timeoutMs = DEFAULT_TIMEOUT_MS) {
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: socket not closed within ${timeoutMs} ms`)),
        timeoutMs);
      this.closedPromise.then((info) => { clearTimeout(timer); resolve(info); });
    });
  }

  /** Closes cleanly (1000) and waits for the close; falls back to destroying the TCP socket. */
  async close(timeoutMs = 2000) {
    if (this.closeInfo) return this.closeInfo;
    if (this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.terminate();
    } else {
      this.ws.close(1000);
    }
    try {
      return await this.waitClose(timeoutMs);
    } catch {
      this.ws.terminate();
      return this.waitClose(timeoutMs);
    }
  }

  /** Drops the TCP connection without a close frame (a crashed browser or a lost network). */
  destroy() {
    this.ws._socket.destroy();
  }
}

/** Opens a WebSocket to wsUrl; resolves with a Client once open. perMessageDeflate is off by default. */
export function connect(wsUrl, { name = 'client', timeoutMs = DEFAULT_TIMEOUT_MS, ...wsOpts } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false, ...wsOpts });
    const client = new Client(ws, name);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${name}: WebSocket did not open within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once('open', () => { clearTimeout(timer); resolve(client); });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`${name}: WebSocket upgrade answered HTTP ${res.statusCode}`));
      ws.terminate();
    });
    ws.once('error', (err) => { clearTimeout(timer); reject(err); });
  });
}

/** Connects and joins; resolves with {client, joined} (joined = the existing-users message). */
export async function connectAndJoin(wsUrl, meetingId, username, extra = {}) {
  const client = await connect(wsUrl, { name: username });
  const joined = await client.join(meetingId, username, extra);
  return { client, joined };
}

/** Closes every client given (ignores ones already closed). */
export async function closeAll(...clients) {
  await Promise.all(clients.flat().filter(Boolean).map((c) => c.close().catch(() => {})));
}

/**
 * Sends a raw HTTP/1.1 request over a TCP socket (nothing normalises the path) and resolves with
 * {status, headers, body} (status is null when the server sent no status line). Bounded by timeoutMs.
 */
export function rawHttp(port, requestPath, { method = 'GET', timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const sep = text.indexOf('\r\n\r\n');
      const head = sep >= 0 ? text.slice(0, sep) : text;
      const body = sep >= 0 ? text.slice(sep + 4) : '';
      const lines = head.split('\r\n');
      const sm = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] || '');
      const headers = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: sm ? Number(sm[1]) : null, headers, body, raw: text });
    };
    const timer = setTimeout(() => {
      // A server that keeps the connection open after a complete answer is fine: use what came.
      if (chunks.length) finish();
      else { done = true; sock.destroy(); reject(new Error(`raw HTTP ${requestPath}: no answer in ${timeoutMs} ms`)); }
    }, timeoutMs);
    sock.on('connect', () => {
      sock.write(`${method} ${requestPath} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    });
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', finish);
    sock.on('close', finish);
    sock.on('error', (err) => {
      if (chunks.length) finish();
      else if (!done) { done = true; clearTimeout(timer); reject(err); }
    });
  });
}

/** GET url with a timeout; resolves with {res, text}. */
export async function httpGet(url, timeoutMs = DEFAULT_TIMEOUT_MS) {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  return { res, text };
}

/** Asserts `u` is a participant object as PROTOCOL.md defines it. */
export function assertParticipant(u, { userId, username, audio = true, video = true } = {}) {
  assert.deepEqual(Object.keys(u).sort(), ['audio', 'joinedAt', 'userId', 'username', 'video'],
    `participant keys: ${JSON.stringify(u)}`);
  assert.equal(typeof u.userId, 'string');
  assert.ok(u.userId.length > 0);
  if (userId !== undefined) assert.equal(u.userId, userId);
  if (username !== undefined) assert.equal(u.username, username);
  assert.equal(u.audio, audio, `participant audio: ${JSON.stringify(u)}`);
  assert.equal(u.video, video, `participant video: ${JSON.stringify(u)}`);
  assert.ok(Number.isInteger(u.joinedAt), `joinedAt not an integer: ${JSON.stringify(u)}`);
  assert.ok(Math.abs(u.joinedAt - Date.now()) < 60000, `joinedAt not near now: ${u.joinedAt}`);
}

/** Asserts `c` is a chat object as PROTOCOL.md defines it. */
export function assertChat(c, { userId, username, message } = {}) {
  assert.deepEqual(Object.keys(c).sort(), ['id', 'message', 'timestamp', 'userId', 'username'],
    `chat keys: ${JSON.stringify(c).slice(0, 300)}`);
  assert.ok(Number.isInteger(c.id), `chat id not an integer: ${c.id}`);
  if (userId !== undefined) assert.equal(c.userId, userId);
  if (username !== undefined) assert.equal(c.username, username);
  if (message !== undefined) assert.equal(c.message, message);
  assert.ok(Number.isInteger(c.timestamp), `timestamp not an integer: ${c.timestamp}`);
}
