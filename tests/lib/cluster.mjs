// A cluster for the suites of several nodes (README, "Several nodes"): a throwaway redis-server
// (redis.mjs) and N VideoMeet nodes (server.mjs) pointed at it, each with its NODE_ID, its own
// PUBLIC_URL (the port it was given) and, when asked, its own RTC port range; the wait until every
// node sees Redis and all the others; and one stop() for after() that ends every node started here
// (those a test added too, but not those it killed on purpose) and then Redis. Like every process a
// test file starts, they are also killed when the file's process exits (children.mjs).
// Also the small HTTP look-ups those suites make of a node: /healthz, /metrics, /api/create-meeting.
import assert from 'node:assert/strict';
import { startServer, freePort } from './server.mjs';
import { startRedis } from './redis.mjs';
import { sleep } from './wait.mjs';

const HTTP_TIMEOUT_MS = 3000;

async function get(node, route) {
  const res = await fetch(`${node.url}${route}`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  return { status: res.status, text: await res.text() };
}

/** A node's /healthz (which must answer 200), parsed. */
export async function health(node) {
  const { status, text } = await get(node, '/healthz');
  assert.equal(status, 200, `/healthz of ${node.id}: ${text}`);
  return JSON.parse(text);
}

/** The value of `name` (a metric without labels) in a node's /metrics; fails when it is missing. */
export async function metric(node, name) {
  const { text } = await get(node, '/metrics');
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `${name} missing from /metrics of ${node.id}`);
  return Number(m[1]);
}

/** GET /api/create-meeting on a node: {status, body (parsed)}. */
export async function createMeeting(node) {
  const { status, text } = await get(node, '/api/create-meeting');
  return { status, body: JSON.parse(text) };
}

/**
 * Waits until each of `nodes` says Redis is up and sees `count` live nodes; resolves with their
 * /healthz. Fails after `timeoutMs` with what they said last.
 */
export async function waitFormed(nodes, count = nodes.length, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let seen;
    try {
      seen = await Promise.all(nodes.map(health));
      if (seen.every((h) => h.redis === 'up' && h.nodes === count)) return seen;
    } catch (err) {
      seen = String(err);
    }
    assert.ok(Date.now() < deadline, `cluster of ${count} not formed: ${JSON.stringify(seen)}`);
    await sleep(200);
  }
}

/**
 * Starts one node using the Redis at `redisUrl`: NODE_ID `id`, PUBLIC_URL http://127.0.0.1:<its port>,
 * then `env`. Resolves with startServer's handle plus `id`, `killed` and kill(): SIGKILL, the node
 * dies (and a cluster's stop() leaves it alone: a killed node has no clean exit to check).
 */
export async function startNode(redisUrl, id, env = {}) {
  const port = await freePort();
  const srv = await startServer({
    PORT: String(port), REDIS_URL: redisUrl, NODE_ID: id, PUBLIC_URL: `http://127.0.0.1:${port}`, ...env,
  });
  const node = { ...srv, id, killed: false };
  node.kill = () => {
    node.killed = true;
    srv.proc.kill('SIGKILL');
  };
  return node;
}

/**
 * Starts Redis and `nodes` nodes, ids `${idPrefix}0`, `${idPrefix}1`, …; node i gets `env`, then
 * nodeEnv(i), and with `rtcPorts` (a number) the RTC ports rtcPorts + 200 i to rtcPorts + 200 i + 199.
 * Resolves, once every node sees all of them, with:
 *   redis       startRedis's handle (port, url, kill(), restart(), …)
 *   nodes       the nodes started (see startNode)
 *   addNode(i, env?)  one more node, index i (its id and RTC ports follow from i), with `env` instead of
 *               the cluster's env and nodeEnv(i) when given; not added to `nodes`, but stopped by stop()
 *   waitFormed(nodes?, count?)  waitFormed over `nodes` (all of the cluster's by default)
 *   stop()      for after(): stops every node started here that was not killed (each stop checks the
 *               node exited cleanly, without a sanitizer report), then Redis; fails if a node's check did
 * When a node does not start or the cluster does not form, what was started is stopped and it fails.
 */
export async function startCluster({ nodes = 3, idPrefix = 'node', rtcPorts, env = {}, nodeEnv = () => ({}) } = {}) {
  const redis = await startRedis();
  const started = [];
  const rtcEnv = (i) => (rtcPorts === undefined ? {} : {
    RTC_MIN_PORT: String(rtcPorts + i * 200), RTC_MAX_PORT: String(rtcPorts + i * 200 + 199),
  });
  const cluster = {
    redis,
    nodes: [],
    async addNode(i, extraEnv = { ...env, ...nodeEnv(i) }) {
      const node = await startNode(redis.url, `${idPrefix}${i}`, { ...rtcEnv(i), ...extraEnv });
      started.push(node);
      return node;
    },
    waitFormed: (which = cluster.nodes, count = which.length) => waitFormed(which, count),
    async stop() {
      const results = await Promise.allSettled(started.filter((n) => !n.killed).map((n) => n.stop()));
      await redis.stop();
      const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
      if (failed.length === 1) throw failed[0];
      if (failed.length > 1) throw new AggregateError(failed, `${failed.length} nodes did not stop cleanly`);
    },
  };
  try {
    for (let i = 0; i < nodes; i++) cluster.nodes.push(await cluster.addNode(i));
    await cluster.waitFormed();
  } catch (err) {
    await Promise.allSettled(started.map((n) => n.stop()));
    await redis.stop();
    throw err;
  }
  return cluster;
}
