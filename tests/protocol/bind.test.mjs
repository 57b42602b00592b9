// BIND_ADDRESS (README, Configuration): the HTTP + WebSocket port listens on that address only, IPv4
// or IPv6, and on every address when it is empty. The private network namespace gets a second
// interface (a veth pair, 10.99.0.1/24 and fd99::1/64 on one end; removed at the end), so each case
// can try the port on an address it must answer on and on the ones it must not.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { startServer } from '../lib/server.mjs';
import { connect, closeAll } from './client.mjs';

const T = { timeout: 30000 };
const LINK = 'vmbind0';
const V4 = '10.99.0.1';
const V6 = 'fd99::1';
const ALL = ['127.0.0.1', V4, '::1', V6];

const ip = (...args) => execFileSync('ip', args, { stdio: 'pipe' });
const urlHost = (a) => (a.includes(':') ? `[${a}]` : a);

/** Resolves 'open' when a TCP connection to addr:port is accepted, else the error code. */
function tcpProbe(addr, port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: addr, port, timeout: 2000 });
    sock.once('connect', () => { sock.destroy(); resolve('open'); });
    sock.once('timeout', () => { sock.destroy(); resolve('timeout'); });
    sock.once('error', (err) => resolve(err.code));
  });
}

/** Asserts the server answers /healthz and a WebSocket ping on each of `yes`, and that no TCP
 * connection to its port is accepted on any other address of ALL. */
async function assertListensOn(srv, yes) {
  for (const a of yes) {
    const res = await fetch(`http://${urlHost(a)}:${srv.port}/healthz`, { signal: AbortSignal.timeout(3000) });
    assert.equal(res.status, 200, `/healthz on ${a}`);
    assert.equal((await res.json()).status, 'ok');
    const c = await connect(`ws://${urlHost(a)}:${srv.port}/ws`, { name: `ws on ${a}` });
    await c.ping();
    await closeAll(c);
  }
  for (const a of ALL.filter((x) => !yes.includes(x)))
    assert.equal(await tcpProbe(a, srv.port), 'ECONNREFUSED', `port ${srv.port} must not be reachable on ${a}`);
}

describe('BIND_ADDRESS', { timeout: 180000 }, () => {
  before(() => {
    ip('link', 'add', LINK, 'type', 'veth', 'peer', 'name', `${LINK}p`);
    ip('addr', 'add', `${V4}/24`, 'dev', LINK);
    ip('-6', 'addr', 'add', `${V6}/64`, 'dev', LINK, 'nodad');
    ip('link', 'set', LINK, 'up');
    ip('link', 'set', `${LINK}p`, 'up');
  });
  after(() => { ip('link', 'del', LINK); });

  for (const [bind, yes] of [['127.0.0.1', ['127.0.0.1']], [V4, [V4]], ['::1', ['::1']], [V6, [V6]]]) {
    test(`${bind}: answers there and on no other address`, T, async () => {
      const srv = await startServer({ BIND_ADDRESS: bind });
      try {
        await assertListensOn(srv, yes);
        assert.match(srv.output(), new RegExp(`listening on ${urlHost(bind).replace(/[[\].]/g, '\\$&')}:${srv.port}\\b`));
      } finally {
        await srv.stop();
      }
    });
  }

  test('empty: answers on every address, IPv4 and IPv6', T, async () => {
    const srv = await startServer({ BIND_ADDRESS: '' });
    try {
      await assertListensOn(srv, ALL);
    } finally {
      await srv.stop();
    }
  });

  // The process exits before it serves; libwebsockets 4.1 leaks one allocation when it cannot create
  // its listener, so leak checks are off for these two starts only.
  const noLeakCheck = { ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=0' };

  test('an address the machine does not have: the server refuses to start', T, async () => {
    await assert.rejects(startServer({ BIND_ADDRESS: '10.99.0.7', ...noLeakCheck }),
      /exited early[\s\S]*cannot listen on 10\.99\.0\.7/);
  });

  test('a name instead of an address: the server refuses to start', T, async () => {
    await assert.rejects(startServer({ BIND_ADDRESS: 'localhost', ...noLeakCheck }),
      /exited early[\s\S]*BIND_ADDRESS must be an IPv4 or IPv6 address/);
  });
});
