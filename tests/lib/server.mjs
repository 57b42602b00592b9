// Starts and stops a real VideoMeet server for the node:test suites.
// The binary is $VM_SERVER_BIN (default: build/videomeet, the ASan/UBSan build when the README test
// command runs). stop() fails the test when the server exited badly or printed a sanitizer report.
import { spawn } from 'node:child_process';
import { track } from './children.mjs';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const serverBin = process.env.VM_SERVER_BIN || path.join(repoRoot, 'build', 'videomeet');

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the server. `env` adds or overrides environment variables (PORT is chosen here unless `env`
 * gives it, e.g. when PUBLIC_URL must name it).
 * Resolves to { port, url, wsUrl, proc, output(), stop() } once /healthz answers; the URLs are on
 * BIND_ADDRESS (127.0.0.1 unless `env` names another, or all addresses with '').
 */
export async function startServer(env = {}) {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const bind = env.BIND_ADDRESS ?? '127.0.0.1';
  const host = bind === '' ? '127.0.0.1' : bind.includes(':') ? `[${bind}]` : bind;
  const proc = track(spawn(serverBin, [], {
    env: {
      ...process.env,
      PORT: String(port),
      BIND_ADDRESS: '127.0.0.1',
      RTC_IPS: '127.0.0.1',
      LOG_LEVEL: process.env.VM_LOG_LEVEL || 'info',
      ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=66',
      UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
      // The suites run every client from 127.0.0.1: the limits per client address (README "Abuse
      // limits") are off unless a test sets them (tests/protocol/abuse.test.mjs).
      ADDRESS_MAX_CONNECTIONS: '0',
      ADDRESS_MEETINGS_PER_MINUTE: '0',
      ADDRESS_UNKNOWN_JOINS_PER_MINUTE: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  let out = '';
  // VM_SERVER_LOG=FILE: the server's output also goes to FILE (with VM_LOG_LEVEL=debug, to study a run)
  const logFile = process.env.VM_SERVER_LOG ? fs.createWriteStream(process.env.VM_SERVER_LOG, { flags: 'a' }) : null;
  proc.stdout.on('data', (d) => { out += d; logFile?.write(d); });
  proc.stderr.on('data', (d) => { out += d; logFile?.write(d); });
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    proc.on('exit', (code, signal) => { exited = { code, signal }; resolve(exited); });
  });

  const url = `http://${host}:${port}`;
  const deadline = Date.now() + 20000;
  for (;;) {
    if (exited) throw new Error(`server exited early (${JSON.stringify(exited)}):\n${out}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not answer /healthz:\n${out}`);
    }
    await sleep(50);
  }

  async function stop() {
    if (!exited) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15000);
      await exitPromise;
      clearTimeout(timer);
    }
    assert.doesNotMatch(out, /AddressSanitizer|LeakSanitizer|runtime error:/,
      `sanitizer report in server output:\n${out}`);
    assert.equal(exited.signal, null, `server killed by ${exited.signal}:\n${out}`);
    assert.equal(exited.code, 0, `server exit code ${exited.code}:\n${out}`);
  }

  return {
    port, url, wsUrl: `ws://${host}:${port}/ws`, proc,
    output: () => out,
    isRunning: () => !exited,
    stop,
  };
}
