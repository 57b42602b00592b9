// Screenshots of the meeting page in both layouts (grid, speaker view) at 2, 9 and 25 participants,
// for docs/ (README "Layouts"). Not a test: run it by hand inside a private network namespace, from
// tests/ (VM_SERVER_BIN as for the suites):
//   unshare -n bash -c "ip link set lo up; cd tests && node tools/layout-shots.mjs ../docs"
// The person taking them is a Chromium (fake camera); the others are one more Chromium (2 people) or
// videomeet-bench participants (publish-only, speaking in turn with --audio-turn-ms, so that there is
// an active speaker; their synthetic VP8 is not a picture a decoder shows, so their tiles are dark).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startServer, serverBin } from '../lib/server.mjs';
import { launchBrowser, byTestId, smallCamera, createMeeting, screenshot } from '../e2e/browser.mjs';
import { eventually, sleep } from '../lib/wait.mjs';

const out = path.resolve(process.argv[2] || '.');
const benchBin = path.join(path.dirname(serverBin), 'videomeet-bench');
const server = await startServer({ RTC_MIN_PORT: '47200', RTC_MAX_PORT: '47399' });

async function join(meetingId, name) {
  const b = await launchBrowser({ name, initScript: smallCamera, extraArgs: ['--autoplay-policy=no-user-gesture-required'] });
  await b.page.goto(`${server.url}/m/${meetingId}`);
  await byTestId(b.page, 'name-input').fill(name);
  await byTestId(b.page, 'join-now').click();
  await byTestId(b.page, 'meeting-page').waitFor({ state: 'visible' });
  return b;
}

try {
  for (const n of [2, 9, 25]) {
    const id = await createMeeting(server.url);
    const me = await join(id, 'Alice');
    const others = [];
    let bench = null;
    if (n === 2) {
      others.push(await join(id, 'Bob'));
    } else {
      bench = new Promise((resolve) => execFile(benchBin, ['--url', server.url, '--meeting-id', id, '--quiet',
        '--meeting', String(n - 1), '--publish-only', '--audio-turn-ms', '4000', '--bitrate', '100', '--fps', '10',
        '--duration', '25', '--settle', '0'], { timeout: 120000 }, () => resolve()));
    }
    const { page } = me;
    await eventually(async () => {
      if ((await page.locator('[data-testid="tile"]').count()) !== n) throw new Error('not everyone yet');
    }, 60000, 250);
    await sleep(6000); // video, and an active speaker (the bench's turns)
    await screenshot(page, out, `layout-grid-${n}`);
    await byTestId(page, 'layout-toggle').click();
    await sleep(3000);
    await screenshot(page, out, `layout-speaker-${n}`);
    await byTestId(page, 'layout-toggle').click();
    for (const b of [me, ...others]) await b.close();
    if (bench) await bench;
  }
} finally {
  await server.stop();
}
