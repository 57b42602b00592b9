// HTTP routes of the signaling server (PROTOCOL.md, "HTTP routes"): static files of web/ with their
// content types, the meeting link /m/<id>, the JSON API, 404s, and path escapes sent as raw bytes
// over TCP so that no client library normalises them.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, repoRoot } from '../lib/server.mjs';
import { connectAndJoin, closeAll, httpGet, rawHttp, randomMeetingId, MEETING_ID_RE } from './client.mjs';

const webRoot = path.join(repoRoot, 'web');
const T = { timeout: 20000 };

/** A file of web/<dir> with the extension ext, preferring `preferred`; null when there is none. */
function findWebFile(dir, ext, preferred) {
  const full = path.join(webRoot, dir);
  if (fs.existsSync(path.join(full, preferred))) return `${dir}/${preferred}`;
  if (!fs.existsSync(full)) return null;
  const f = fs.readdirSync(full).filter((n) => n.endsWith(ext)).sort()[0];
  return f ? `${dir}/${f}` : null;
}

function readWeb(rel) {
  const p = path.join(webRoot, rel);
  assert.ok(fs.existsSync(p), `web/${rel} does not exist yet (the web app is not written?)`);
  return fs.readFileSync(p, 'utf8');
}

describe('HTTP routes', { timeout: 180000 }, () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { if (srv) await srv.stop(); });

  test('/healthz answers JSON with zero meetings and participants on a fresh server', T, async () => {
    const { res, text } = await httpGet(`${srv.url}/healthz`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') || '', /^application\/json\b/);
    const h = JSON.parse(text);
    assert.equal(h.status, 'ok');
    assert.equal(h.meetings, 0);
    assert.equal(h.participants, 0);
    assert.ok(Number.isInteger(h.uptimeSeconds) && h.uptimeSeconds >= 0 && h.uptimeSeconds < 120,
      `uptimeSeconds: ${h.uptimeSeconds}`);
  });

  test('/ serves web/index.html as text/html', T, async () => {
    const expected = readWeb('index.html');
    const { res, text } = await httpGet(`${srv.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') || '', /^text\/html\b/);
    assert.equal(text, expected);
  });

  test('/m/<meetingId> serves the app (index.html)', T, async () => {
    const expected = readWeb('index.html');
    for (const id of ['k7m2pq9x', randomMeetingId()]) {
      const { res, text } = await httpGet(`${srv.url}/m/${id}`);
      assert.equal(res.status, 200, `/m/${id}`);
      assert.match(res.headers.get('content-type') || '', /^text\/html\b/);
      assert.equal(text, expected);
    }
  });

  test('a .js file under /js/ has a JavaScript content type', T, async () => {
    const rel = findWebFile('js', '.js', 'app.js');
    assert.ok(rel, 'no .js file in web/js/ yet');
    const { res, text } = await httpGet(`${srv.url}/${rel}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') || '', /^(text|application)\/javascript\b/);
    assert.equal(text, readWeb(rel));
  });

  test('a .css file under /css/ is served as text/css', T, async () => {
    const rel = findWebFile('css', '.css', 'style.css');
    assert.ok(rel, 'no .css file in web/css/ yet');
    const { res, text } = await httpGet(`${srv.url}/${rel}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') || '', /^text\/css\b/);
    assert.equal(text, readWeb(rel));
  });

  test('/api/create-meeting returns a well-formed id, distinct on every call', T, async () => {
    const ids = new Set();
    for (let i = 0; i < 50; i++) {
      const { res, text } = await httpGet(`${srv.url}/api/create-meeting`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') || '', /^application\/json\b/);
      const body = JSON.parse(text);
      assert.equal(typeof body.meetingId, 'string');
      assert.match(body.meetingId, MEETING_ID_RE);
      ids.add(body.meetingId);
    }
    assert.equal(ids.size, 50, 'create-meeting returned a duplicate id');
  });

  test('a created meeting id can be joined', T, async () => {
    const { text } = await httpGet(`${srv.url}/api/create-meeting`);
    const { meetingId } = JSON.parse(text);
    const { client, joined } = await connectAndJoin(srv.wsUrl, meetingId, 'Creator');
    try {
      assert.equal(joined.meetingId, meetingId);
      assert.deepEqual(joined.users, []);
      assert.deepEqual(joined.chatHistory, []);
    } finally {
      await closeAll(client);
    }
  });

  test('/api/config answers JSON with iceServers and the limits', T, async () => {
    const { res, text } = await httpGet(`${srv.url}/api/config`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') || '', /^application\/json\b/);
    const cfg = JSON.parse(text);
    assert.ok(Array.isArray(cfg.iceServers), `iceServers: ${text}`);
    for (const s of cfg.iceServers) {
      assert.ok(typeof s.urls === 'string' || Array.isArray(s.urls), `ice server without urls: ${text}`);
    }
    assert.equal(cfg.maxParticipants, 50);
    assert.equal(cfg.maxChatLength, 1000);
    assert.equal(cfg.maxNameLength, 50);
  });

  test('/healthz counts participants and meetings', T, async () => {
    const id = randomMeetingId();
    const a = await connectAndJoin(srv.wsUrl, id, 'HA');
    const b = await connectAndJoin(srv.wsUrl, id, 'HB');
    try {
      const h = JSON.parse((await httpGet(`${srv.url}/healthz`)).text);
      assert.equal(h.status, 'ok');
      assert.equal(h.participants, 2);
      assert.ok(h.meetings >= 1, `meetings: ${h.meetings}`);
    } finally {
      await closeAll(a.client, b.client);
    }
  });

  test('unknown paths answer 404', T, async () => {
    for (const p of ['/no-such-file.html', '/js/no-such-module.js', '/api/no-such-api', '/css/nope.css']) {
      const { res } = await httpGet(`${srv.url}${p}`);
      assert.equal(res.status, 404, p);
    }
    const raw = await rawHttp(srv.port, '/definitely/not/here');
    assert.equal(raw.status, 404);
  });

  test('the raw HTTP client sees a normal file (sanity check of the escape tests)', T, async () => {
    const r = await rawHttp(srv.port, '/');
    assert.equal(r.status, 200);
    assert.ok(r.body.includes(readWeb('index.html').slice(0, 40)));
  });

  // Path escapes: the repository's CMakeLists.txt sits next to web/, /etc/passwd is absolute.
  const escapes = [
    '/../CMakeLists.txt',
    '/%2e%2e/CMakeLists.txt',
    '/%2E%2E/CMakeLists.txt',
    '/js/..%2f..%2fCMakeLists.txt',
    '/js/%2e%2e/%2e%2e/CMakeLists.txt',
    '/css/../../CMakeLists.txt',
    '/%2e%2e%2f%2e%2e%2fetc/passwd',
    '/../../../../../../etc/passwd',
    '//etc/passwd',
    '/..\\CMakeLists.txt',
    '/js/..\\..\\CMakeLists.txt',
    '/%2fetc%2fpasswd',
    '/m/../../CMakeLists.txt',
  ];
  for (const p of escapes) {
    test(`path escape is refused: ${p}`, T, async () => {
      const r = await rawHttp(srv.port, p);
      assert.ok(r.status !== null, `no HTTP status line for ${p}: ${JSON.stringify(r.raw.slice(0, 200))}`);
      assert.ok(r.status >= 400 && r.status < 500, `${p} answered ${r.status}`);
      assert.ok(!r.body.includes('cmake_minimum_required'), `${p} leaked CMakeLists.txt`);
      assert.ok(!r.body.includes('root:'), `${p} leaked /etc/passwd`);
    });
  }

  test('a NUL byte in the path does not cut it short: /%00/../CMakeLists.txt', T, async () => {
    let r;
    try {
      r = await rawHttp(srv.port, '/%00/../CMakeLists.txt');
    } catch (err) {
      if (err.code === 'ECONNRESET') return; // dropped: refused
      throw err;
    }
    // Refusing with 4xx or dropping the connection without an answer are both acceptable here.
    if (r.status !== null) assert.ok(r.status >= 400 && r.status < 500, `answered ${r.status}`);
    assert.ok(!r.body.includes('cmake_minimum_required'), 'leaked CMakeLists.txt');
  });

  test('the server is still healthy after the escape attempts', T, async () => {
    const { res } = await httpGet(`${srv.url}/healthz`);
    assert.equal(res.status, 200);
    assert.ok(srv.isRunning());
  });
});
