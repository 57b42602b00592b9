// A throwaway redis-server (Debian's) for the cluster suites (README, "Several nodes"): on a loopback
// port, no persistence, its own directory; and redis-cli to look at what the nodes wrote.
import { spawn, execFile } from 'node:child_process';
import { track } from './children.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One redis-cli command against 127.0.0.1; resolves with its raw output, trimmed.
 * @param {number|{port: number, password?: string}} target
 */
export function redisCli(target, ...args) {
  const { port, password } = typeof target === 'number' ? { port: target } : target;
  const env = password ? { ...process.env, REDISCLI_AUTH: password } : process.env;
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--raw', ...args], { timeout: 3000, env },
      (err, stdout) => (err ? reject(err) : resolve(stdout.trim())));
  });
}

/**
 * Starts redis-server; resolves once it answers PING with {port, url, proc, exited, kill(), restart(),
 * stop()}: kill() SIGKILLs it (Redis "dies"), restart() starts it again, empty, on the same port,
 * stop() ends it and removes its directory. `password`: it requires AUTH with it.
 */
export async function startRedis({ password = '' } = {}) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vm-redis-'));
  const r = { port, password, url: `redis://${password ? `:${password}@` : ''}127.0.0.1:${port}`, proc: null, exited: null, output: '' };
  async function launch() {
    const proc = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
      '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', ...(password ? ['--requirepass', password] : [])],
    { stdio: ['ignore', 'pipe', 'pipe'] }));
    proc.stdout.on('data', (d) => { r.output += d; });
    proc.stderr.on('data', (d) => { r.output += d; });
    r.proc = proc;
    r.exited = new Promise((res) => proc.on('exit', res));
    for (let i = 0; i < 100; i++) {
      try {
        if ((await redisCli({ port, password }, 'PING')) === 'PONG') return;
      } catch { /* not up yet */ }
      await sleep(50);
    }
    proc.kill('SIGKILL');
    throw new Error(`redis-server did not start:\n${r.output}`);
  }
  r.kill = async () => {
    r.proc.kill('SIGKILL');
    await r.exited;
  };
  r.restart = launch;
  r.stop = async () => {
    if (r.proc && r.proc.exitCode === null && r.proc.signalCode === null) {
      r.proc.kill('SIGTERM');
      await r.exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  await launch();
  return r;
}
