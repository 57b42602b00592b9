// Runs videomeet-bench (built next to the server binary) for the suites that drive it.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { serverBin } from './server.mjs';

export const benchBin = path.join(path.dirname(serverBin), 'videomeet-bench');

/** Runs the bench with args; resolves to {code, stdout, stderr} (sanitizer leak checks on). */
export function bench(args, timeout = 90000) {
  return new Promise((resolve) => {
    execFile(benchBin, args, {
      timeout,
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=66' },
    }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}
