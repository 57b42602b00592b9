// The TCP path against a running server (scripts/docker-check.sh): a Chromium whose UDP is blocked
// meets a Chromium on UDP through the server's TURN server (tests/e2e/tcp-path.mjs).
//   node tests/tools/tcp-path-check.mjs <http://host:port> <turn port>
// Needs root (nftables, the blocked browser's user id). Exit code 0: media both ways over TURN/TCP.
import { checkTcpPath, describe } from '../e2e/tcp-path.mjs';

const [url, turnPort] = process.argv.slice(2);
const cleanups = [];
let code = 1;
try {
  const figures = await checkTcpPath({
    url, turnPort: Number(turnPort), table: `vm_tcp_check_${process.pid}`, defer: (fn) => cleanups.push(fn),
  });
  console.log(describe(figures));
  code = 0;
} catch (err) {
  console.error(err);
} finally {
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch (err) {
      console.error(`clean-up: ${err.message}`);
    }
  }
}
process.exit(code);
