// Packet loss and blackholes on loopback for the suites, with nftables inside the private network
// namespace the test command runs in (this kernel has no netem). Drops are made on the input hook:
// a drop on the output hook makes the sender's sendmsg fail, and Chromium then sends again.
import { execFileSync } from 'node:child_process';

/** Runs one nft command. */
export function nft(...args) {
  execFileSync('nft', args, { stdio: 'pipe' });
}

/**
 * A table of its own with a chain `in` on the input hook; returns a function that deletes it (at
 * most once; also called when the test `t` ends).
 */
function inputTable(t, table) {
  nft('add', 'table', 'inet', table);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    nft('delete', 'table', 'inet', table);
  };
  t.after(remove);
  nft('add', 'chain', 'inet', table, 'in', '{ type filter hook input priority 0; }');
  return remove;
}

/**
 * Drops `percent` % of the UDP datagrams from and to the port range (e.g. "46000-46199") or set
 * (e.g. "{ 5000, 5002 }"), both ways, in a table of its own (100: a blackhole). Returns a function
 * that removes it (also removed when the test `t` ends).
 */
export function udpLoss(t, table, ports, percent) {
  const remove = inputTable(t, table);
  const rule = percent >= 100 ? ['drop'] : ['numgen', 'random', 'mod', '100', '<', String(percent), 'drop'];
  nft('add', 'rule', 'inet', table, 'in', 'udp', 'sport', ports, ...rule);
  nft('add', 'rule', 'inet', table, 'in', 'udp', 'dport', ports, ...rule);
  return remove;
}

/**
 * Polices what arrives at one UDP port (a receiver's socket) to `kbytes` kilobytes per second: what
 * exceeds the rate is dropped, as a policer on the path would. Returns a function that removes it
 * (also removed when the test `t` ends).
 */
export function udpPolice(t, table, port, kbytes) {
  const remove = inputTable(t, table);
  nft('add', 'rule', 'inet', table, 'in', 'udp', 'dport', String(port), 'limit', 'rate', 'over',
    `${kbytes}`, 'kbytes/second', 'drop');
  return remove;
}
