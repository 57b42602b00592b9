// The processes a test file starts (servers, redis-server, bench runs): every one still running when
// the file's process exits is killed, so a test that failed before its cleanup (or a hook that never
// ran) cannot leave a server behind that keeps `node --test` (and CI) waiting for ever. scripts/test.sh
// runs each file with --test-force-exit, which ends the process once its tests are done.
const live = new Set();

process.on('exit', () => {
  for (const p of live) {
    try { p.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

/** Remembers `proc` until it exits; returns it. */
export function track(proc) {
  live.add(proc);
  proc.on('exit', () => live.delete(proc));
  return proc;
}
