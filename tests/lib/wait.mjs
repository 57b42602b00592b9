// Waiting helpers shared by the node:test suites.

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Retries `fn` (an assertion) every `every` ms until it passes or `timeout` ms have passed; then rethrows. */
export async function eventually(fn, timeout = 10000, every = 100) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(every);
    }
  }
}
