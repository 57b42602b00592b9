// A control-plane failure as a person sees it: the server cannot make a Chromium's publishing
// connection (injected with VM_FAULT, sfu/fault.h; PROTOCOL.md error `internal`). The page does not
// wait forever for an answer: it goes back to the setup page and says, in words for people
// (web/js/errors.js), what happened and what to do; joining again from there works.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { launchBrowser, smallCamera, createMeeting, byTestId } from './browser.mjs';
import { ERROR_TEXT } from '../../web/js/errors.js';

let server;

before(async () => {
  server = await startServer({ VM_FAULT: 'up-peer@1' });
});

after(async () => {
  if (server) await server.stop();
});

test('the publishing connection cannot be made: back to setup with a sentence, and a second join works', async (t) => {
  const b = await launchBrowser({ name: 'Ida', initScript: [smallCamera] });
  t.after(() => b.close());
  const { page } = b;
  const id = await createMeeting(server.url);
  await page.goto(`${server.url}/m/${id}`);
  await byTestId(page, 'name-input').fill('Ida');
  await byTestId(page, 'join-now').click();
  const toast = byTestId(page, 'toast').filter({ hasText: ERROR_TEXT.internal });
  await toast.waitFor({ state: 'visible', timeout: 15000 });
  await byTestId(page, 'setup-page').waitFor({ state: 'visible' });
  assert.equal(await byTestId(page, 'meeting-page').isVisible(), false);
  assert.match(server.output(), /E sfu [a-z0-9]{8}: u[a-z0-9]+: the server could not make the publishing connection/);
  // The fault was for the first publishing connection only: joining again works.
  await byTestId(page, 'join-now').click();
  await byTestId(page, 'meeting-page').waitFor({ state: 'visible' });
  const h = await (await fetch(`${server.url}/healthz`)).json();
  assert.equal(h.participants, 1);
  assert.deepEqual(b.errors.filter((e) => !/WebSocket|ERR_|net::/.test(e)), []);
});
