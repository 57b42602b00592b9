// Malformed and hostile input over the WebSocket (PROTOCOL.md, "Errors"): every case gets its error
// code; where the socket stays open that is proven with ping → pong; frames over 64 KiB close with 1009
// and floods with 1008. Throughout, a separate meeting of two participants (the observers) must keep
// working: after every test one of them chats and both must receive it, and the server must stay up.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { connect, connectAndJoin, closeAll, httpGet, randomMeetingId, sleep } from './client.mjs';

const T = { timeout: 20000 };

describe('malformed input', { timeout: 180000 }, () => {
  let srv;
  let obsX;
  let obsY;
  let alive = 0;
  let opened = [];

  function requireServer() {
    if (!srv.isRunning()) throw new Error('the server is no longer running (it died in an earlier test; its output is in this suite\'s after hook)');
  }
  /** A fresh, unjoined socket closed after the test. */
  async function fresh(name = 'bad') {
    requireServer();
    const c = await connect(srv.wsUrl, { name });
    opened.push(c);
    return c;
  }
  /** A fresh socket joined to meetingId (a new meeting unless given). */
  async function joined(name = 'bad', meetingId = randomMeetingId()) {
    requireServer();
    const r = await connectAndJoin(srv.wsUrl, meetingId, name);
    opened.push(r.client);
    return { ...r, meetingId };
  }

  before(async () => {
    srv = await startServer();
    const id = randomMeetingId();
    obsX = (await connectAndJoin(srv.wsUrl, id, 'ObserverX')).client;
    obsY = (await connectAndJoin(srv.wsUrl, id, 'ObserverY')).client;
    await obsX.next('user-joined');
  });

  afterEach(async () => {
    await closeAll(opened);
    opened = [];
    // The other meeting still works, and the server is still up.
    const [from, to] = alive % 2 ? [obsY, obsX] : [obsX, obsY];
    const text = `still alive ${alive++}`;
    from.send({ type: 'chat-message', message: text });
    assert.equal((await from.next('receive-message')).message, text);
    assert.equal((await to.next('receive-message')).message, text);
    assert.ok(srv.isRunning(), 'server exited');
    const { res } = await httpGet(`${srv.url}/healthz`);
    assert.equal(res.status, 200);
  });

  after(async () => {
    try {
      await closeAll(opened);
      if (obsX && obsY) {
        assert.deepEqual(obsX.all('error'), [], 'observer X got errors');
        assert.deepEqual(obsY.all('error'), [], 'observer Y got errors');
        assert.deepEqual(obsX.all('user-left'), []);
        assert.deepEqual(obsY.all('user-left'), []);
        assert.equal(obsX.closeInfo, null, 'observer X was closed');
        assert.equal(obsY.closeInfo, null, 'observer Y was closed');
      }
    } finally {
      // stop() reports a crash with the server's output, which explains any failure above.
      await closeAll(obsX, obsY);
      if (srv) await srv.stop();
    }
  });

  // --- not JSON / not an object -------------------------------------------------------------
  for (const raw of ['hello', '{', '{"type":"ping"', '', '{"type":"ping"}{"type":"ping"}', "{'type':'ping'}",
    '{"type":"ping",}']) {
    test(`not JSON → bad-json, socket stays open: ${JSON.stringify(raw)}`, T, async () => {
      const c = await fresh();
      await c.sendRaw(raw);
      await c.expectError('bad-json');
      await c.expectNone('pong', 100);
      await c.ping();
    });
  }

  for (const raw of ['[1,2]', '[]', '[{"type":"ping"}]', '42', '"join-meeting"', 'null', 'true']) {
    test(`JSON that is not an object → bad-json: ${raw}`, T, async () => {
      const c = await fresh();
      await c.sendRaw(raw);
      await c.expectError('bad-json');
      await c.expectNone('pong', 100);
      await c.ping();
    });
  }

  test('a binary frame → bad-json even when it holds valid JSON', T, async () => {
    const c = await fresh();
    await c.sendRaw(Buffer.from('{"type":"ping"}'), { binary: true });
    await c.expectError('bad-json');
    await c.expectNone('pong', 200);
    await c.ping();
    assert.equal(c.all('pong').length, 1);
  });

  // --- invalid UTF-8 in a text frame -----------------------------------------------------------
  const badUtf8 = {
    'lone 0xff': [Buffer.from('{"type":"'), Buffer.from([0xff]), Buffer.from('"}')],
    'bad continuation': [Buffer.from('{"type":"chat-message","message":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')],
    'overlong /': [Buffer.from('{"type":"chat-message","message":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')],
    'UTF-16 surrogate': [Buffer.from('{"type":"chat-message","message":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')],
    'above U+10FFFF': [Buffer.from('{"type":"chat-message","message":"'), Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from('"}')],
    'truncated at the end': [Buffer.from('{"type":"ping"}'), Buffer.from([0xe2, 0x82])],
  };
  for (const [name, parts] of Object.entries(badUtf8)) {
    test(`invalid UTF-8 text frame → invalid-utf8, socket stays open: ${name}`, T, async () => {
      const c = await fresh();
      await c.sendRaw(Buffer.concat(parts), { binary: false });
      await c.expectError('invalid-utf8');
      await c.expectNone('pong', 100);
      assert.equal(c.closeInfo, null, `socket closed: ${JSON.stringify(c.closeInfo)}`);
      await c.ping();
    });
  }

  test('invalid UTF-8 in a joined socket\'s chat is not delivered', T, async () => {
    const a = await joined('utf8-a');
    const b = await joined('utf8-b', a.meetingId);
    const frame = Buffer.concat([Buffer.from('{"type":"chat-message","message":"x'), Buffer.from([0xff]),
      Buffer.from('y"}')]);
    await a.client.sendRaw(frame, { binary: false });
    await a.client.expectError('invalid-utf8');
    await b.client.expectNone('receive-message');
    await a.client.ping();
  });

  // --- type ---------------------------------------------------------------------------------------
  for (const raw of ['{}', '{"meetingId":"abcdefgh","username":"x"}', '{"type":5}', '{"type":null}',
    '{"type":["ping"]}', '{"type":{"x":1}}', '{"type":true}']) {
    test(`missing or non-string type → unknown-type: ${raw}`, T, async () => {
      const c = await fresh();
      await c.sendRaw(raw);
      await c.expectError('unknown-type');
      await c.ping();
    });
  }

  // server-to-client types are not accepted from a client either (active-speakers: PROTOCOL.md "Active speaker")
  for (const type of ['hack', 'PING', '', 'join_meeting', 'ping ', 'constructor', '__proto__', 'active-speakers']) {
    test(`unknown type → unknown-type: ${JSON.stringify(type)}`, T, async () => {
      const c = await fresh();
      c.send({ type });
      await c.expectError('unknown-type');
      await c.expectNone('pong', 100);
      await c.ping();
    });
  }

  test('unknown extra fields are ignored', T, async () => {
    const c = await fresh();
    c.send({ type: 'ping', extra: { deep: [1, 2, 3] }, n: 5 });
    await c.next('pong');
    const j = await c.join(randomMeetingId(), 'Extra', { colour: 'blue', admin: true });
    assert.deepEqual(j.users, []);
    assert.deepEqual(c.all('error'), []);
  });

  // --- fields -----------------------------------------------------------------------------------
  const badJoins = {
    'username is a number': { meetingId: 'abcdefgh', username: 42 },
    'username is null': { meetingId: 'abcdefgh', username: null },
    'username missing': { meetingId: 'abcdefgh' },
    'meetingId missing': { username: 'Nomad' },
    'meetingId is a number': { meetingId: 23456789, username: 'Num' },
    'meetingId is an array': { meetingId: ['abcdefgh'], username: 'Arr' },
    'audio is "yes"': { meetingId: 'abcdefgh', username: 'Yes', audio: 'yes' },
    'video is 1': { meetingId: 'abcdefgh', username: 'One', video: 1 },
    'video is null': { meetingId: 'abcdefgh', username: 'Null', video: null },
  };
  for (const [name, fields] of Object.entries(badJoins)) {
    test(`join-meeting with ${name} → invalid-field, socket not joined`, T, async () => {
      const c = await fresh();
      c.send({ type: 'join-meeting', ...fields });
      await c.expectError('invalid-field', 'join-meeting');
      await c.ping();
      // Not joined: chat is refused.
      c.send({ type: 'chat-message', message: 'am I in?' });
      await c.expectError('not-in-meeting', 'chat-message');
    });
  }

  test('after a refused join the socket can join properly', T, async () => {
    const c = await fresh();
    c.send({ type: 'join-meeting', meetingId: 'abcdefgh', username: 42 });
    await c.expectError('invalid-field', 'join-meeting');
    const j = await c.join(randomMeetingId(), 'Retry');
    assert.deepEqual(j.users, []);
  });

  const badMedia = {
    'audio is "yes"': { audio: 'yes', video: true },
    'video missing': { audio: true },
    'audio missing': { video: false },
    'audio is 0': { audio: 0, video: true },
  };
  for (const [name, fields] of Object.entries(badMedia)) {
    test(`media-state with ${name} → invalid-field, nothing relayed`, T, async () => {
      const a = await joined('media-a');
      const b = await joined('media-b', a.meetingId);
      a.client.send({ type: 'media-state', ...fields });
      await a.client.expectError('invalid-field', 'media-state');
      await b.client.expectNone('media-state');
      await a.client.ping();
      const c = await joined('media-c', a.meetingId);
      assert.equal(c.joined.users[0].audio, true);
      assert.equal(c.joined.users[0].video, true);
    });
  }

  for (const [name, fields] of Object.entries({ 'message missing': {}, 'message is a number': { message: 5 },
    'message is an object': { message: { text: 'hi' } }, 'message is null': { message: null } })) {
    test(`chat-message with ${name} → invalid-field, nothing delivered`, T, async () => {
      const a = await joined('chat-a');
      const b = await joined('chat-b', a.meetingId);
      a.client.send({ type: 'chat-message', ...fields });
      await a.client.expectError('invalid-field', 'chat-message');
      await b.client.expectNone('receive-message');
      await a.client.ping();
    });
  }

  // --- resume-meeting and ice-restart (resume.test.mjs has the tokens of real participants) ------
  for (const [name, fields, code] of [
    ['no fields', {}, 'invalid-field'],
    ['a numeric token', { meetingId: 'abcdefgh', userId: 'uabcdefghjkmn', resumeToken: 7 }, 'invalid-field'],
    ['a null userId', { meetingId: 'abcdefgh', userId: null, resumeToken: 'A'.repeat(43) }, 'invalid-field'],
    ['a bad meetingId', { meetingId: 'abc', userId: 'uabcdefghjkmn', resumeToken: 'A'.repeat(43) }, 'invalid-meeting-id'],
    ['a garbage token', { meetingId: 'abcdefgh', userId: 'uabcdefghjkmn', resumeToken: '<script>' }, 'resume-refused'],
    ['a well-formed token nobody has', { meetingId: 'abcdefgh', userId: 'uabcdefghjkmn', resumeToken: 'A'.repeat(43) }, 'resume-refused'],
    ['a userId of 1000 characters', { meetingId: 'abcdefgh', userId: 'u'.repeat(1000), resumeToken: 'A'.repeat(43) }, 'resume-refused'],
  ]) {
    test(`resume-meeting with ${name} → ${code}, socket stays open and not joined`, T, async () => {
      const c = await fresh();
      c.send({ type: 'resume-meeting', ...fields });
      await c.expectError(code, 'resume-meeting');
      await c.ping();
      c.send({ type: 'chat-message', message: 'am I in?' });
      await c.expectError('not-in-meeting', 'chat-message');
    });
  }

  for (const [name, fields] of [['no pc', {}], ['pc "up"', { pc: 'up' }], ['pc 1', { pc: 1 }]]) {
    test(`ice-restart with ${name} → invalid-field, socket stays open and in its meeting`, T, async () => {
      const a = await joined('restart-a');
      a.client.send({ type: 'ice-restart', ...fields });
      await a.client.expectError('invalid-field', 'ice-restart');
      await a.client.ping();
    });
  }

  // --- video-views ------------------------------------------------------------------------------
  test('video-views before joining → not-in-meeting', T, async () => {
    const c = await fresh();
    c.send({ type: 'video-views', views: [{ mid: '1', hidden: true }] });
    await c.expectError('not-in-meeting', 'video-views');
    await c.ping();
  });

  for (const [name, fields, code] of [
    ['no views', {}, 'invalid-field'],
    ['views an object', { views: { mid: '1' } }, 'invalid-field'],
    ['an empty list', { views: [] }, 'too-long'],
    ['65 views', { views: Array.from({ length: 65 }, (_, i) => ({ mid: String(i), hidden: true })) }, 'too-long'],
    ['a view without mid', { views: [{ width: 10, height: 10 }] }, 'invalid-field'],
    ['a mid of 16 bytes', { views: [{ mid: 'x'.repeat(16), hidden: true }] }, 'too-long'],
    ['a width of 0', { views: [{ mid: '1', width: 0, height: 10 }] }, 'invalid-field'],
    ['a height of 16385', { views: [{ mid: '1', width: 10, height: 16385 }] }, 'invalid-field'],
    ['a fractional width', { views: [{ mid: '1', width: 10.5, height: 10 }] }, 'invalid-field'],
    ['hidden as a string', { views: [{ mid: '1', hidden: 'yes' }] }, 'invalid-field'],
  ]) {
    test(`video-views with ${name} → ${code}, socket stays open and in its meeting`, T, async () => {
      const a = await joined('views-a');
      a.client.send({ type: 'video-views', ...fields });
      await a.client.expectError(code, 'video-views');
      await a.client.ping();
      // a valid one, for a mid nobody has, is taken quietly
      a.client.send({ type: 'video-views', views: [{ mid: '9', width: 640, height: 360 }, { mid: '7', hidden: true }] });
      await a.client.expectNone('error');
      await a.client.ping();
    });
  }

  // --- offer sources (screen sharing) ------------------------------------------------------------
  for (const [name, sources, code] of [
    ['sources an object', { 2: 'screen' }, 'invalid-field'],
    ['a source that is a string', ['2'], 'invalid-field'],
    ['a source without mid', [{ source: 'screen' }], 'invalid-field'],
    ['a numeric mid', [{ mid: 2, source: 'screen' }], 'invalid-field'],
    ['an unknown source', [{ mid: '2', source: 'window' }], 'invalid-field'],
    ['a mid with a comma', [{ mid: '2,3', source: 'screen' }], 'invalid-field'],
    ['a mid with a space', [{ mid: '2 3', source: 'screen' }], 'invalid-field'],
    ['an empty mid', [{ mid: '', source: 'screen' }], 'too-long'],
    ['a mid of 16 bytes', [{ mid: 'x'.repeat(16), source: 'screen' }], 'too-long'],
    ['9 sources', Array.from({ length: 9 }, (_, i) => ({ mid: String(i), source: 'screen' })), 'too-long'],
  ]) {
    test(`offer with ${name} → ${code}, socket stays open and in its meeting`, T, async () => {
      const a = await joined('sources-a');
      a.client.send({ type: 'offer', pc: 'up', sdp: 'v=0', sources });
      await a.client.expectError(code, 'offer');
      await a.client.ping();
      // valid sources pass: the SDP itself is what the SFU refuses
      a.client.send({ type: 'offer', pc: 'up', sdp: 'v=0', sources: [{ mid: '1', source: 'camera' }, { mid: '2', source: 'screen' }] });
      await a.client.expectError('bad-sdp', 'offer');
      await a.client.ping();
    });
  }

  // --- username length ----------------------------------------------------------------------------
  for (const [name, username] of Object.entries({
    '51 ASCII characters': 'a'.repeat(51),
    '51 × é': 'é'.repeat(51),
    '51 emoji': '😀'.repeat(51),
    'empty': '',
    'only spaces': '    ',
  })) {
    test(`join-meeting with a username of ${name} → too-long, socket not joined`, T, async () => {
      const c = await fresh();
      c.send({ type: 'join-meeting', meetingId: randomMeetingId(), username });
      await c.expectError('too-long', 'join-meeting');
      await c.ping();
      const j = await c.join(randomMeetingId(), 'Fine');
      assert.deepEqual(j.users, []);
    });
  }

  test('a username of 50 characters with spaces around it is accepted (length counted after trimming)', T,
    async () => {
      const c = await fresh();
      const j = await c.join(randomMeetingId(), `  ${'n'.repeat(50)}  `);
      assert.deepEqual(j.users, []);
    });

  // --- meeting id ----------------------------------------------------------------------------------
  for (const meetingId of ['abc', '', 'abcdefg0', 'abcdefg1', 'abcdefgi', 'abcdefgl', 'abcdefgo', 'abcdefghj',
    'abcd efg', 'abcdefg-', 'abcdéfgh', '../../et', 'ABCDEFG0']) {
    test(`join-meeting with meetingId ${JSON.stringify(meetingId)} → invalid-meeting-id`, T, async () => {
      const c = await fresh();
      c.send({ type: 'join-meeting', meetingId, username: 'Idle' });
      await c.expectError('invalid-meeting-id', 'join-meeting');
      await c.ping();
      c.send({ type: 'chat-message', message: 'in?' });
      await c.expectError('not-in-meeting', 'chat-message');
    });
  }

  test('a meetingId with a NUL escape after 8 good characters is not cut short to a valid id', T, async () => {
    // "abcdefgh\u0000" is valid JSON; a C string would stop at the NUL and read "abcdefgh". Refusing the
    // frame as bad-json (the JSON library rejecting \u0000) or the id as invalid are both safe; joining is not.
    const c = await fresh();
    c.send({ type: 'join-meeting', meetingId: 'abcdefgh\u0000', username: 'Nul' });
    const e = await c.next('error');
    assert.ok(['invalid-meeting-id', 'bad-json'].includes(e.code), `error: ${JSON.stringify(e)}`);
    assert.deepEqual(c.all('existing-users'), []);
    await c.ping();
    c.send({ type: 'chat-message', message: 'in?' });
    await c.expectError('not-in-meeting', 'chat-message');
  });

  // --- second join ---------------------------------------------------------------------------------
  test('a second join-meeting → already-joined; the socket stays in its first meeting', T, async () => {
    const a = await joined('twice');
    const b = await joined('partner', a.meetingId);
    await a.client.next('user-joined');
    a.client.send({ type: 'join-meeting', meetingId: a.meetingId, username: 'twice-again' });
    await a.client.expectError('already-joined', 'join-meeting');
    const other = randomMeetingId();
    a.client.send({ type: 'join-meeting', meetingId: other, username: 'elsewhere' });
    await a.client.expectError('already-joined', 'join-meeting');
    await b.client.expectNone((m) => m.type === 'user-joined' || m.type === 'user-left');
    // Still in the first meeting under the first name.
    a.client.send({ type: 'chat-message', message: 'still here' });
    const got = await b.client.next('receive-message');
    assert.equal(got.userId, a.joined.userId);
    assert.equal(got.username, 'twice');
    // And nobody is in the other meeting.
    const c = await joined('checker', other);
    assert.deepEqual(c.joined.users, []);
  });

  // --- size ------------------------------------------------------------------------------------------
  /** A chat-message JSON text of exactly `bytes` bytes. */
  function chatOfSize(bytes) {
    const head = '{"type":"chat-message","message":"';
    const tail = '"}';
    return head + 'a'.repeat(bytes - head.length - tail.length) + tail;
  }

  test('a frame of exactly 64 KiB is read (too-long, not too-large) and the socket stays open', T, async () => {
    const a = await joined('big-ok');
    const frame = chatOfSize(65536);
    assert.equal(Buffer.byteLength(frame), 65536);
    await a.client.sendRaw(frame);
    await a.client.expectError('too-long', 'chat-message');
    await a.client.ping();
  });

  test('a frame over 64 KiB → too-large, then close 1009; the others see the user leave', T, async () => {
    const a = await joined('huge');
    const b = await joined('huge-peer', a.meetingId);
    await a.client.next('user-joined');
    await a.client.sendRaw(chatOfSize(65537));
    await a.client.expectError('too-large');
    const info = await a.client.waitClose(5000);
    assert.equal(info.code, 1009);
    assert.deepEqual(await b.client.next('user-left', 5000),
      { type: 'user-left', userId: a.joined.userId, reason: 'disconnected' });
    await b.client.expectNone('receive-message');
  });

  test('a 200 KiB frame → too-large, then close 1009', T, async () => {
    const c = await fresh();
    await c.sendRaw(chatOfSize(200 * 1024));
    await c.expectError('too-large');
    assert.equal((await c.waitClose(5000)).code, 1009);
  });

  test('a fragmented message over 64 KiB after reassembly → too-large, then close 1009', T, async () => {
    const c = await fresh();
    const frame = chatOfSize(3 * 30000);
    await c.sendRaw(frame.slice(0, 30000), { fin: false });
    await c.sendRaw(frame.slice(30000, 60000), { fin: false });
    await c.sendRaw(frame.slice(60000), { fin: true });
    await c.expectError('too-large');
    assert.equal((await c.waitClose(5000)).code, 1009);
  });

  test('a fragmented message under 64 KiB is reassembled and handled', T, async () => {
    const a = await joined('frag');
    const b = await joined('frag-peer', a.meetingId);
    const frame = JSON.stringify({ type: 'chat-message', message: 'x'.repeat(900) + 'END' });
    await a.client.sendRaw(frame.slice(0, 100), { fin: false });
    await a.client.sendRaw(frame.slice(100, 500), { fin: false });
    await a.client.sendRaw(frame.slice(500), { fin: true });
    const m = await b.client.next('receive-message');
    assert.equal(m.message, 'x'.repeat(900) + 'END');
  });

  // --- rate ---------------------------------------------------------------------------------------------
  test('more than the burst at once → rate-limited errors, messages dropped, socket stays open', T, async () => {
    const c = await fresh('burst');
    for (let i = 0; i < 70; i++) c.send({ type: 'ping' });
    await c.next('error');
    await sleep(500);
    const pongs = c.all('pong').length;
    const limited = c.all('error').filter((e) => e.code === 'rate-limited');
    assert.deepEqual(c.all('error').filter((e) => e.code !== 'rate-limited'), []);
    assert.ok(limited.length >= 15, `rate-limited errors: ${limited.length}, pongs: ${pongs}`);
    assert.ok(pongs >= 35 && pongs <= 55, `pongs: ${pongs} (burst is 40)`);
    assert.equal(pongs + limited.length, 70, 'every message is either answered or refused');
    assert.equal(c.closeInfo, null, 'socket closed before 100 drops');
    for (const e of limited) if ('ref' in e) assert.equal(e.ref, 'ping');
    await sleep(1000); // tokens refill at 20/s
    await c.ping();
  });

  test('a flood of 500 messages → rate-limited errors, then close 1008; the others see the user leave', T,
    async () => {
      const a = await joined('flooder');
      const b = await joined('flood-peer', a.meetingId);
      await a.client.next('user-joined');
      for (let i = 0; i < 500; i++) a.client.send({ type: 'chat-message', message: `flood ${i}` });
      const info = await a.client.waitClose(10000);
      assert.equal(info.code, 1008);
      const limited = a.client.all('error').filter((e) => e.code === 'rate-limited');
      assert.ok(limited.length >= 1, 'no rate-limited error before the close');
      assert.ok(limited.length <= 101, `rate-limited errors: ${limited.length}`);
      assert.deepEqual(await b.client.next('user-left', 5000),
        { type: 'user-left', userId: a.joined.userId, reason: 'disconnected' });
      // Only the burst got through to the peer.
      const delivered = b.client.all('receive-message').length;
      assert.ok(delivered >= 30 && delivered <= 60, `peer received ${delivered} flood messages`);
    });

  test('a flood of 500 pings from an unjoined socket → close 1008', T, async () => {
    const c = await fresh('pingflood');
    for (let i = 0; i < 500; i++) c.send({ type: 'ping' });
    assert.equal((await c.waitClose(10000)).code, 1008);
    assert.ok(c.all('error').some((e) => e.code === 'rate-limited'));
    assert.ok(c.all('pong').length <= 60, `pongs: ${c.all('pong').length}`);
  });

  test('malformed frames in a flood count against the rate too', T, async () => {
    const c = await fresh('junkflood');
    for (let i = 0; i < 500; i++) c.ws.send('not json at all');
    assert.equal((await c.waitClose(10000)).code, 1008);
    assert.ok(c.all('error').some((e) => e.code === 'rate-limited'));
    assert.ok(c.all('error').filter((e) => e.code === 'bad-json').length <= 60);
  });

  test('many sockets misbehaving at once do not disturb the observers', T, async () => {
    const socks = await Promise.all(Array.from({ length: 10 }, (_, i) => fresh(`mob${i}`)));
    for (const s of socks) {
      s.ws.send('{');
      s.ws.send(Buffer.from([1, 2, 3]));
      s.send({ type: 'nope' });
      s.send({ type: 'join-meeting', meetingId: 'bad', username: 'x' });
    }
    obsX.send({ type: 'chat-message', message: 'during the mob' });
    assert.equal((await obsY.next('receive-message')).message, 'during the mob');
    assert.equal((await obsX.next('receive-message')).message, 'during the mob');
    for (const s of socks) {
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await s.next('error')).code);
      assert.deepEqual(codes, ['bad-json', 'bad-json', 'unknown-type', 'invalid-meeting-id']);
      await s.ping();
    }
  });
});
