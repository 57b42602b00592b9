// A small TURN client over TCP (RFC 8489 STUN, RFC 8656 TURN), enough to check what the embedded
// TURN server allows: Allocate with long-term credentials, CreatePermission towards a peer.
// Written from the RFCs for the tests; not a general client (no ChannelData, no retransmission: TCP).
import net from 'node:net';
import crypto from 'node:crypto';

const MAGIC = 0x2112a442;
export const METHOD = { allocate: 0x003, createPermission: 0x008 };
const ATTR = {
  username: 0x0006, messageIntegrity: 0x0008, errorCode: 0x0009, xorPeerAddress: 0x0012,
  realm: 0x0014, nonce: 0x0015, xorRelayedAddress: 0x0016, requestedTransport: 0x0019,
};

function encode(type, txid, attrs, key) {
  const parts = [];
  for (const [t, v] of attrs) {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(t, 0);
    h.writeUInt16BE(v.length, 2);
    parts.push(h, v, Buffer.alloc((4 - (v.length % 4)) % 4));
  }
  let body = Buffer.concat(parts);
  const header = (len) => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(type, 0);
    h.writeUInt16BE(len, 2);
    h.writeUInt32BE(MAGIC, 4);
    txid.copy(h, 8);
    return h;
  };
  if (key) { // MESSAGE-INTEGRITY over the message with its length covering the attribute itself
    const mac = crypto.createHmac('sha1', key).update(Buffer.concat([header(body.length + 24), body])).digest();
    const h = Buffer.alloc(4);
    h.writeUInt16BE(ATTR.messageIntegrity, 0);
    h.writeUInt16BE(20, 2);
    body = Buffer.concat([body, h, mac]);
  }
  return Buffer.concat([header(body.length), body]);
}

function decode(buf) {
  const attrs = new Map();
  for (let o = 20; o + 4 <= buf.length;) {
    const t = buf.readUInt16BE(o), len = buf.readUInt16BE(o + 2);
    attrs.set(t, buf.subarray(o + 4, o + 4 + len));
    o += 4 + len + ((4 - (len % 4)) % 4);
  }
  const cls = ((buf.readUInt16BE(0) & 0x0100) >> 7) | ((buf.readUInt16BE(0) & 0x0010) >> 4);
  const err = attrs.get(ATTR.errorCode);
  return { txid: buf.subarray(8, 20), success: cls === 2, code: err ? err[2] * 100 + err[3] : 0, attrs };
}

function xorAddress(ip, port) {
  const v = Buffer.alloc(8);
  v[1] = 0x01; // IPv4
  v.writeUInt16BE(port ^ (MAGIC >>> 16), 2);
  ip.split('.').forEach((n, i) => { v[4 + i] = Number(n) ^ ((MAGIC >>> (24 - 8 * i)) & 0xff); });
  return v;
}

function unxorAddress(v) {
  const port = v.readUInt16BE(2) ^ (MAGIC >>> 16);
  const ip = [0, 1, 2, 3].map((i) => v[4 + i] ^ ((MAGIC >>> (24 - 8 * i)) & 0xff)).join('.');
  return { ip, port };
}

/**
 * Opens a TCP connection to a TURN server. Resolves to { allocate(username, credential),
 * createPermission(ip), close() }; allocate and createPermission resolve to { ok, code, relayed? }
 * (code: the STUN error code, 0 on success).
 */
export function turnConnect(host, port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    const waiting = new Map(); // txid hex -> resolve
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 20 && buf.length >= 20 + buf.readUInt16BE(2)) {
        const msg = decode(buf.subarray(0, 20 + buf.readUInt16BE(2)));
        buf = buf.subarray(20 + buf.readUInt16BE(2));
        const w = waiting.get(msg.txid.toString('hex'));
        if (w) w(msg);
      }
    });
    const closed = new Promise((r) => sock.on('close', r));
    sock.on('error', (e) => { reject(e); for (const w of waiting.values()) w({ code: -1, attrs: new Map() }); });
    const send = (method, attrs, key) => new Promise((done) => {
      const txid = crypto.randomBytes(12);
      waiting.set(txid.toString('hex'), done);
      sock.write(encode(method, txid, attrs, key));
    });
    let auth = null; // { attrs: [username, realm, nonce], key }

    async function authed(method, attrs) {
      let res = await send(method, [...attrs, ...(auth?.attrs || [])], auth?.key);
      if (res.code === 401 || res.code === 438) { // (stale) nonce: once more with the new one
        const realm = res.attrs.get(ATTR.realm), nonce = res.attrs.get(ATTR.nonce);
        if (!realm || !nonce || !auth?.user) return res;
        auth.key = crypto.createHash('md5').update(`${auth.user}:${realm}:${auth.pass}`).digest();
        auth.attrs = [[ATTR.username, Buffer.from(auth.user)], [ATTR.realm, realm], [ATTR.nonce, nonce]];
        res = await send(method, [...attrs, ...auth.attrs], auth.key);
      }
      return res;
    }

    sock.on('connect', () => resolve({
      async allocate(username, credential) {
        auth = { user: username, pass: credential };
        const res = await authed(METHOD.allocate, [[ATTR.requestedTransport, Buffer.from([17, 0, 0, 0])]]);
        const relayed = res.attrs.get(ATTR.xorRelayedAddress);
        return { ok: res.success, code: res.code, relayed: relayed && unxorAddress(relayed) };
      },
      async createPermission(ip) {
        const res = await authed(METHOD.createPermission, [[ATTR.xorPeerAddress, xorAddress(ip, 9)]]);
        return { ok: res.success, code: res.code };
      },
      async close() {
        sock.end();
        sock.destroy();
        await closed;
      },
    }));
  });
}
