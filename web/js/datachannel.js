// datachannel.js — the meeting's data channel messages (signaling/PROTOCOL.md, "Data channel"):
// emoji reactions and raised hands, sent over one RTCDataChannel (label "vm") on the "up"
// connection and relayed by the SFU to everyone else in the meeting, prefixed with the sender's
// userId and a newline. No DOM code: encode, decode and a small wrapper around the channel.
//
// Events of DataLink (CustomEvent): `reaction` {userId, emoji}, `hand` {userId, up}, `hello`
// {userId} (a participant's channel just opened: tell it what it missed, e.g. our raised hand), `open`.

/** The channel's label: the SFU relays a message to the others' channels of the same label. */
export const LABEL = 'vm';
/** The reactions the app offers; anything else received is ignored. */
export const REACTIONS = ['👍', '❤️', '😂', '🎉', '👏', '😮'];
/** The largest message the SFU relays (its a=max-message-size), in bytes. */
export const MAX_MESSAGE = 4096;

/** @param {string} emoji @returns {string} */
export function encodeReaction(emoji) {
  if (!REACTIONS.includes(emoji)) throw new Error(`not a reaction: ${emoji}`);
  return JSON.stringify({ t: 'reaction', emoji });
}

/** @param {boolean} up @returns {string} */
export function encodeHand(up) {
  return JSON.stringify({ t: 'hand', up: up === true });
}

/** Sent once when our channel opens. @returns {string} */
export function encodeHello() {
  return JSON.stringify({ t: 'hello' });
}

/**
 * A relayed message: "<userId>\n<json>". null when it is not one we know.
 * @param {unknown} text
 * @returns {{userId: string, type: 'reaction', emoji: string} | {userId: string, type: 'hand', up: boolean}
 *   | {userId: string, type: 'hello'} | null}
 */
export function decode(text) {
  if (typeof text !== 'string' || text.length > MAX_MESSAGE + 64) return null;
  const nl = text.indexOf('\n');
  if (nl <= 0) return null;
  const userId = text.slice(0, nl);
  let msg;
  try {
    msg = JSON.parse(text.slice(nl + 1));
  } catch {
    return null;
  }
  if (!msg || typeof msg !== 'object') return null;
  if (msg.t === 'reaction' && REACTIONS.includes(msg.emoji)) return { userId, type: 'reaction', emoji: msg.emoji };
  if (msg.t === 'hand' && typeof msg.up === 'boolean') return { userId, type: 'hand', up: msg.up };
  if (msg.t === 'hello') return { userId, type: 'hello' };
  return null;
}

/**
 * The app's side of the channel: sends our reactions and hand, turns what arrives into events.
 * Messages sent before the channel is open wait (at most 20), so a hand raised while connecting
 * still goes out.
 */
export class DataLink extends EventTarget {
  /** @param {RTCDataChannel} channel */
  constructor(channel) {
    super();
    this.channel = channel;
    /** @type {string[]} */
    this.queue = [];
    channel.onopen = () => {
      this.#send(encodeHello());
      for (const m of this.queue.splice(0)) this.#send(m);
      this.dispatchEvent(new CustomEvent('open'));
    };
    channel.onmessage = (e) => {
      const m = decode(e.data);
      if (!m) return;
      if (m.type === 'reaction') this.dispatchEvent(new CustomEvent('reaction', { detail: { userId: m.userId, emoji: m.emoji } }));
      else if (m.type === 'hand') this.dispatchEvent(new CustomEvent('hand', { detail: { userId: m.userId, up: m.up } }));
      else this.dispatchEvent(new CustomEvent('hello', { detail: { userId: m.userId } }));
    };
  }

  get open() {
    return this.channel.readyState === 'open';
  }

  /** @param {string} emoji */
  react(emoji) {
    this.#send(encodeReaction(emoji));
  }

  /** @param {boolean} up */
  hand(up) {
    this.#send(encodeHand(up));
  }

  /** @param {string} text */
  #send(text) {
    if (this.channel.readyState === 'open') {
      try {
        this.channel.send(text);
      } catch (err) {
        console.warn('data channel: send failed', err);
      }
    } else if (this.channel.readyState === 'connecting' && this.queue.length < 20) {
      this.queue.push(text);
    }
  }
}
