// HTTP limits and headers (README "HTTP limits and headers"): security headers on every answer (files,
// the app's routes, JSON, metrics, errors); a request whose headers do not arrive in time is cut off
// (slowloris), and so is an idle connection; oversized headers are answered 431, bodies 413, and the
// connection is closed; the server stays healthy throughout.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer } from '../lib/server.mjs';
import { connect, rawHttp } from './client.mjs';

const T = { timeout: 30000 };

/**
 * Opens a TCP connection and writes `chunks` one every gapMs; resolves when the server closes it with
 * {seconds, sent, text}: how long it stayed open, how many chunks went out, what the server sent.
 */
function trickle(port, chunks, gapMs) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect(port, '127.0.0.1');
    let sent = 0;
    let text = '';
    let timer;
    const tick = () => {
      if (sent < chunks.length && !s.destroyed) {
        s.write(chunks[sent++]);
        timer = setTimeout(tick, gapMs);
      }
    };
    s.on('connect', tick);
    s.on('data', (d) => { text += d.toString('latin1'); });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ seconds: (Date.now() - t0) / 1000, sent, text });
    });
  });
}

/** Sends `data` at once; resolves with what the server answered and whether it closed the connection. */
function request(port, data, waitMs = 3000) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => { s.destroy(); resolve({ text, closed: false }); }, waitMs);
    s.on('connect', () => s.write(data));
    s.on('data', (d) => { text += d.toString('latin1'); });
    s.on('error', () => {});
    s.on('close', () => { clearTimeout(timer); resolve({ text, closed: true }); });
  });
}

const statusOf = (text) => Number((/^HTTP\/1\.[01] (\d{3})/.exec(text) || [])[1]);

function assertSecurityHeaders(headers, what) {
  const csp = headers['content-security-policy'];
  assert.ok(csp, `${what}: no Content-Security-Policy`);
  const dir = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert.deepEqual(dir['script-src'], ["'self'"], `${what}: ${csp}`);
  assert.deepEqual(dir['style-src'], ["'self'"], `${what}: ${csp}`);
  assert.deepEqual(dir['default-src'], ["'self'"], `${what}: ${csp}`);
  assert.deepEqual(dir['connect-src'], ["'self'"], `${what}: ${csp}`); // one node: its own origin only
  assert.deepEqual(dir['object-src'], ["'none'"], `${what}: ${csp}`);
  assert.deepEqual(dir['frame-ancestors'], ["'none'"], `${what}: ${csp}`);
  assert.ok(!/unsafe-inline|unsafe-eval/.test(csp), `${what}: ${csp}`);
  assert.equal(headers['x-content-type-options'], 'nosniff', what);
  assert.equal(headers['referrer-policy'], 'no-referrer', what);
  const pp = headers['permissions-policy'] || '';
  for (const f of ['camera', 'microphone', 'display-capture']) assert.match(pp, new RegExp(`(^|, )${f}=\\(self\\)`), `${what}: ${pp}`);
  assert.match(pp, /geolocation=\(\)/, `${what}: ${pp}`);
}

describe('HTTP limits and headers', { timeout: 120000 }, () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { if (srv) await srv.stop(); });

  const paths = {
    '/': 200, '/m/k7m2pq9x': 200, '/js/app.js': 200, '/css/style.css': 200, '/api/config': 200,
    '/api/create-meeting': 200, '/healthz': 200, '/metrics': 200, '/no-such-file.js': 404, '/.git/config': 403,
    '/ws': 400,
  };
  for (const [p, status] of Object.entries(paths)) {
    test(`security headers on ${p} (${status})`, T, async () => {
      const r = await rawHttp(srv.port, p);
      assert.equal(r.status, status, r.raw.slice(0, 300));
      assertSecurityHeaders(r.headers, p);
      // only once each
      assert.equal(r.raw.split(/\r\n/).filter((l) => /^content-security-policy:/i.test(l)).length, 1);
      assert.equal(r.raw.split(/\r\n/).filter((l) => /^x-content-type-options:/i.test(l)).length, 1);
    });
  }

  test('the web app has no inline script or style (the policy would refuse them)', T, async () => {
    const { body } = await rawHttp(srv.port, '/');
    assert.doesNotMatch(body, /<script(?![^>]*\bsrc=)[^>]*>/i, 'an inline <script>');
    assert.doesNotMatch(body, /<style\b/i, 'a <style> element');
    assert.doesNotMatch(body, /\sstyle=/i, 'a style attribute');
    assert.doesNotMatch(body, /\son[a-z]+=/i, 'an inline event handler');
  });

  test('slowloris: a header byte every 2 s is cut off within the 10 s header timeout, unanswered', { timeout: 40000 },
    async () => {
      const req = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: ${'x'.repeat(100)}\r\n\r\n`;
      const [slow, idle, half] = await Promise.all([
        trickle(srv.port, req.split(''), 2000),
        trickle(srv.port, [], 1000), // connects and sends nothing
        trickle(srv.port, ['GET / HTTP/1.1\r\nHost: x\r\n'], 1000), // half a request, then silence
      ]);
      for (const [what, r] of Object.entries({ slow, idle, half })) {
        assert.ok(r.seconds >= 9 && r.seconds <= 13, `${what}: closed after ${r.seconds} s`);
        assert.equal(r.text, '', `${what}: answered ${r.text.slice(0, 100)}`);
      }
      assert.ok(slow.sent <= 7, `slowloris sent ${slow.sent} bytes before the cut`);
    });

  test('an idle keep-alive connection is closed after 5 s', T, async () => {
    const r = await trickle(srv.port, ['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'], 1000);
    assert.equal(statusOf(r.text), 200);
    assert.ok(r.seconds >= 4 && r.seconds <= 8, `closed after ${r.seconds} s`);
  });

  const cases = {
    'a 10 KiB Cookie': ['GET /healthz HTTP/1.1\r\nHost: x\r\nCookie: ' + 'a'.repeat(10240) + '\r\n\r\n', 431],
    'a 10 KiB path': [`GET /${'a'.repeat(10240)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
    '3 headers of 3.5 KiB (over 8 KiB together)': ['GET /healthz HTTP/1.1\r\nHost: x\r\n' +
      `Cookie: ${'a'.repeat(3500)}\r\nUser-Agent: ${'b'.repeat(3500)}\r\nReferer: ${'c'.repeat(3500)}\r\n\r\n`, 431],
    'a 1 MiB body': ['POST /api/create-meeting HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n' + 'a'.repeat(1 << 20), 413],
    'a 20 KB body on GET': ['GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n' + 'a'.repeat(20000), 413],
    'a chunked body': ['POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', 413],
  };
  for (const [what, [data, status]] of Object.entries(cases)) {
    test(`${what} → ${status}, connection closed`, T, async () => {
      const r = await request(srv.port, data);
      assert.equal(statusOf(r.text), status, r.text.slice(0, 200));
      assert.ok(r.closed, 'the connection stayed open');
      const head = r.text.split('\r\n\r\n')[0];
      assert.match(head, /\r\nconnection: close/i);
      assert.match(head, /\r\ncontent-security-policy:/i);
    });
  }

  // Answering before the body is read and closing with it unread makes the kernel send a reset, which
  // lost the answer in about one try of five (CI, session 10): the server now reads such a body away first.
  test('a 1 MiB body is answered 413 every time (30 tries), the connection ended without a reset', T, async () => {
    const data = cases['a 1 MiB body'][0];
    for (let i = 0; i < 30; i++) {
      const r = await request(srv.port, data);
      assert.equal(statusOf(r.text), 413, `try ${i + 1}: answered ${JSON.stringify(r.text.slice(0, 100))}`);
      assert.ok(r.closed, `try ${i + 1}: the connection stayed open`);
    }
  });

  test('a refused body sent a byte a second is cut off within 10 s of the 413', { timeout: 40000 }, async () => {
    const head = 'POST /api/create-meeting HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n';
    const r = await trickle(srv.port, [head, ...'a'.repeat(30)], 1000);
    assert.equal(statusOf(r.text), 413, r.text.slice(0, 100));
    assert.ok(r.seconds >= 9 && r.seconds <= 14, `closed after ${r.seconds} s`);
  });

  test('a WebSocket upgrade with an oversized header is refused', T, async () => {
    await assert.rejects(connect(srv.wsUrl, { name: 'big', headers: { Cookie: 'a'.repeat(10240) } }));
    const ok = await connect(srv.wsUrl, { name: 'normal' });
    await ok.ping();
    await ok.close();
  });

  test('headers within the limits are served', T, async () => {
    const r = await request(srv.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nCookie: ' + 'a'.repeat(3000) +
      '\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(r.text), 200);
  });

  test('the server is healthy afterwards', T, async () => {
    const res = await fetch(`${srv.url}/healthz`);
    assert.equal(res.status, 200);
  });
});
